"""Secondary motion on a generated character: the ponytail chain swings with the motion."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.character.build import build_character
from kyara.character.parser import parse_prompt
from kyara.pose.lbs import forward_kinematics


@pytest.fixture(scope="module")
def jogger():
    from kyara.avatar.body import character_body

    c = build_character(parse_prompt("an anime girl with a long ponytail", 0))
    return c, character_body(c)


def test_ponytail_swings_during_a_jog_and_keeps_its_length(jogger):
    from kyara.motion.builtin import load_builtin
    from kyara.motion.retarget import retarget

    c, body = jogger
    skel, mocap = load_builtin("jog")
    motion = retarget(mocap, skel, c.body.params, trim=(0, 60))
    rot = body.motion_rotations(motion)
    assert rot.shape == (motion.num_frames, body.num_bones, 3, 3)
    assert np.allclose(rot[:, :NUM_BONES], motion.matrices())  # humanoid bones untouched
    g_rot, g_pos = forward_kinematics(rot, motion.translation, body.all_rest, body.all_parents)
    tail = [NUM_BONES + i for i, b in enumerate(c.extra_bones) if "ponytail" in b.name]
    assert len(tail) >= 3
    head = BONE_INDEX["head"]
    # the tip in the head's frame: rigid hair would keep it fixed; springs make it lag and swing
    local = np.einsum("fji,fj->fi", g_rot[:, head], g_pos[:, tail[-1]] - g_pos[:, head])
    assert np.linalg.norm(local.std(axis=0)) > 0.01
    rest_len = np.linalg.norm(np.diff(body.all_rest[tail], axis=0), axis=1)
    posed_len = np.linalg.norm(np.diff(g_pos[:, tail], axis=1), axis=2)
    assert np.allclose(posed_len, rest_len[None], atol=1e-6)
    # without the simulation (all extra bones at rest) the tip is fixed in the head frame
    rigid = rot.copy()
    rigid[:, NUM_BONES:] = np.eye(3)
    g_rot2, g_pos2 = forward_kinematics(rigid, motion.translation, body.all_rest, body.all_parents)
    local2 = np.einsum("fji,fj->fi", g_rot2[:, head], g_pos2[:, tail[-1]] - g_pos2[:, head])
    assert np.linalg.norm(local2.std(axis=0)) < 1e-6
