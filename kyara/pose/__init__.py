"""Poses: rotations, forward kinematics, linear-blend skinning, named poses, keypoints."""
