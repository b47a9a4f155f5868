"""Glasses sit round the eyes: in a front render the rims cover none of the drawn eye (whites, iris,
pupil, highlights, lash line) and close round each eye on all four sides, near it."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

EYE = ("eye_whites", "irises", "pupils", "eye_highlights", "lashes")


@functools.lru_cache(maxsize=1)
def _shots():
    from kyara.character.build import BuildOptions, build_character
    from kyara.character.fidelity import render_shots
    from kyara.character.parser import parse_prompt

    c = build_character(parse_prompt("a girl with glasses", 0), BuildOptions(quality="dataset"))
    assert any(p.name == "glasses" for p in c.parts)
    bare = dataclasses.replace(c, parts=[p for p in c.parts if not p.name.startswith("glasses")])
    return render_shots(c, 512, ("bust-front",)).views["bust-front"], render_shots(bare, 512, ("bust-front",)).views["bust-front"]


def test_rims_cover_no_part_of_the_eyes():
    worn, bare = _shots()
    eye = bare.mask(*EYE)
    assert eye.sum() > 600  # both eyes, big enough to measure at 512 px
    covered = eye & worn.mask("glasses")
    assert covered.sum() <= 0.005 * eye.sum(), (int(covered.sum()), int(eye.sum()))


def test_rims_close_round_each_eye():
    from scipy.ndimage import label

    worn, bare = _shots()
    rim = worn.mask("glasses")
    head = bare.rows["chin"] - bare.rows["crown"]
    lab, n = label(bare.mask(*EYE))
    eyes = sorted((np.argwhere(lab == i) for i in range(1, n + 1)), key=len)[-2:]
    for px in eyes:
        (r0, c0), (r1, c1) = px.min(0), px.max(0)
        rm, cm = (r0 + r1) // 2, (c0 + c1) // 2
        gaps = {"above": np.flatnonzero(rim[:r0, cm][::-1]), "below": np.flatnonzero(rim[r1 + 1:, cm]),
                "nose side" if cm > bare.mid_x else "outer side": np.flatnonzero(rim[rm, :c0][::-1]),
                "outer side" if cm > bare.mid_x else "nose side": np.flatnonzero(rim[rm, c1 + 1:])}
        for side, hits in gaps.items():
            assert len(hits), f"no rim {side} of the eye at rows {r0}-{r1}, columns {c0}-{c1}"
            assert hits[0] < 0.08 * head, (side, int(hits[0]), head)  # close round the eye, not a visor
