"""Cameras, condition maps (OpenPose, depth, normal, UDP, line art) and cel-shaded previews."""
