"""``kyara create`` writes a CoNR character sheet (``sheet/``) that ``kyara sheet`` reads as it is."""

from __future__ import annotations

import numpy as np
from PIL import Image


def test_create_writes_a_sheet_whose_udp_matches_its_images_and_b2_reproduces_it(tmp_path, gl):
    from kyara.character.create import SHEET_VIEWS, create_character
    from kyara.character.parser import parse_prompt
    from kyara.sheet.baselines import b2
    from kyara.sheet.inputs import read_references
    from kyara.sheet.recipe import sheet_view

    spec = parse_prompt("a girl with long twin tails in a skirt", seed=3)
    res = create_character(spec, tmp_path / "out", size=(160, 128), turntable_frames=2, turntable_size=64,
                           export=False)
    images = [tmp_path / "out" / "sheet" / f"ref{k}.png" for k in range(SHEET_VIEWS)]
    assert all(p in res.files for p in images)
    refs = read_references(images, use_detector=False)  # every UDP found beside its image, no detector
    assert [r.udp_source.endswith(f"ref{k}_udp.npz") for k, r in enumerate(refs)] == [True] * SHEET_VIEWS
    for r in refs:
        assert r.rgba.shape == (128, 128, 4)  # square, the smaller side of --size
        alpha, occ = r.rgba[..., 3] > 0, r.udp[..., 3] > 0.5
        assert alpha.sum() > 500 and (alpha & occ).sum() / (alpha | occ).sum() > 0.9  # UDP lies on the drawn character
    # front view (azimuth 0): the character's left (UDP x toward its left side) is on the image's right, so
    # the UDP x of the occupied pixels correlates with the image column; the back view (180) flips it
    def x_trend(r):
        ys, xs = np.nonzero(r.udp[..., 3] > 0.5)
        return np.corrcoef(xs, r.udp[ys, xs, 0])[0, 1]
    assert abs(x_trend(refs[0])) > 0.5 and np.sign(x_trend(refs[0])) == -np.sign(x_trend(refs[2]))
    # the sheet is self-consistent: B2 over all four views, asked for the front view's own UDP (same crop),
    # copies the front view's colours bit for bit on most of it (other views see some points too)
    views = [sheet_view(r.rgba, r.udp, 128) for r in refs]
    out = b2(views, views[0].udp)
    occ = views[0].udp[..., 3] > 0.5
    exact = np.abs(out - views[0].rgba)[occ].max(axis=1) < 1e-6
    assert exact.mean() > 0.75, exact.mean()
    assert np.asarray(Image.open(images[1])).shape[2] == 4
