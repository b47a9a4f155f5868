"""kyara: anime characters from text, poses, character sheets and drawings.

The package is laid out by stage of the data flow::

    kyara.body     the parametric anime body and its VRM-named skeleton
    kyara.pose     rotations, forward kinematics, skinning, named poses, keypoints
    kyara.render   cameras, condition maps (OpenPose, depth, normal, UDP, ...), cel shading
    kyara.cli      the ``kyara`` command line

``import kyara`` is cheap: it imports no torch, no OpenGL and does no I/O.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
