"""The lifted character through the project's exporters and their checkers: the Khronos glTF validator
and three-vrm in headless Chromium (skipped without node / chromium)."""

from __future__ import annotations

import numpy as np
import pytest

from drawing_figures import figure
from test_export_common import run_three_vrm, run_validator

from kyara.body.skeleton import BONE_INDEX, BONES


@pytest.fixture(scope="module")
def lifted():
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.pipeline import retarget_onto
    from kyara.drawing.skeleton import SkeletonConfig

    c = lift(figure(256, fill=(0.95, 0.75, 0.6)).rgb, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))
    return c, retarget_onto(c, "jog", 30.0)


@pytest.mark.slow
def test_vrm_glb_and_vrma_pass_the_validator_and_play_in_three_vrm(lifted, tmp_path):
    from kyara.export import ExportOptions, export_character

    c, motion = lifted
    vrm = export_character(c, "vrm", tmp_path / "avatar.vrm").path
    glb = export_character(c, "glb", tmp_path / "avatar.glb", ExportOptions(motion=motion)).path
    vrma = export_character(c, "vrma", tmp_path / "jog.vrma", ExportOptions(motion=motion)).path
    report = run_validator([vrm, glb, vrma])
    for f in (vrm, glb, vrma):
        assert report[str(f)]["numErrors"] == 0, (f, report[str(f)]["messages"])
    frame = 9
    r = run_three_vrm([{"vrm": str(vrm), "vrma": str(vrma), "frame": frame, "fps": motion.fps}])[str(vrm)]
    assert "error" not in r, r.get("error")
    assert r["console"] == [] and r["missingRequired"] == [] and len(r["humanBones"]) == 55
    assert r["mtoon"] > 0 and r["metaVersion"] == "1"
    # the motion drives three-vrm's humanoid onto kyara's own forward kinematics of the lifted skeleton
    _, joints = c.pose_vertices(motion.rotations[frame], motion.translation[frame])
    got = np.array([r["anim"]["world"][b] for b in BONES])
    np.testing.assert_allclose(got, joints[:55], atol=1e-4)
    rest = c.body.rest_joints
    assert np.linalg.norm(got[BONE_INDEX["leftFoot"]] - rest[BONE_INDEX["leftFoot"]]) > 0.05
