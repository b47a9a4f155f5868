"""``kyara render --gaussians`` and ``kyara animate --gaussians``: the layer drawn over the mesh by depth;
bad layer files end as one ``error:`` line and exit 2 with nothing written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from kyara.cli.main import run  # noqa: E402


def _layer_file(path, mesh_vertices, faces, offset, count=400, scale=0.02, allowed=None):
    from kyara.gaussians.io import write_layer
    from kyara.gaussians.layer import GaussianConfig, seed_layer

    lay = seed_layer(mesh_vertices, faces, GaussianConfig(count=count, init_opacity=0.95, init_scale=scale,
                                                          init_color=(1.0, 0.0, 0.0)), allowed=allowed)
    lay.offsets[:, 2] = offset  # along the triangle normal: + in front of the skin, - inside the body
    return write_layer(path, lay, mesh_vertices, faces)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from kyara.body.model import build_body
    from kyara.cli.common import body_params

    b = build_body(body_params("teen-girl", None, None, []))
    d = tmp_path_factory.mktemp("layers")
    tetra = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    return dict(out=_layer_file(d / "out.ply", b.vertices, b.faces, 0.04),
                # 5 sigma inside the thick parts (head, torso, legs): no tail pokes out of the skin
                inside=_layer_file(d / "inside.ply", b.vertices, b.faces, -0.03, scale=0.006,
                                   allowed=np.isin(b.parts[b.faces], (0, 1, 4)).all(1)),
                other=_layer_file(d / "other.ply", tetra, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]), 0.0,
                                  count=10))


def _red(img):
    return int(((img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)).sum())


def test_render_draws_the_layer_in_front_and_hides_it_behind_the_skin(gl, files, tmp_path, capsys):
    for name in ("out", "inside"):
        rc = run(["render", "--view", "front", "--size", "64", "--maps", "toon,mask", "--gaussians", str(files[name]),
                  "-o", str(tmp_path / name)])
        assert rc == 0, capsys.readouterr().err
    toon = np.asarray(Image.open(tmp_path / "out" / "front_toon.png"))
    shown = np.asarray(Image.open(tmp_path / "out" / "front_gaussians.png"))
    hidden = np.asarray(Image.open(tmp_path / "inside" / "front_gaussians.png"))
    assert _red(toon) == 0 and _red(shown) > 300, _red(shown)
    assert _red(hidden) == 0  # inside the body: behind the surface everywhere, hidden by the depth test
    # unchanged inside the silhouette; on its outline pixels (depth inf beside the mesh) the 0.3 px^2
    # screen-space filter of splatting lets a faint tint through at 64 px
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(np.asarray(Image.open(tmp_path / "out" / "front_mask.png")) > 0, iterations=2)
    assert inner.sum() > 100
    diff = np.abs(hidden.astype(int) - toon.astype(int)).max(-1)
    assert diff[inner].max() <= 8 and diff[inner].mean() < 0.5, (diff[inner].max(), diff[inner].mean())


def test_animate_draws_the_layer(gl, files, tmp_path, capsys):
    out = tmp_path / "walk.gif"
    rc = run(["animate", "--motion", "walk", "--fps", "4", "--size", "48", "--gaussians", str(files["out"]),
              "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    frames = Image.open(out)
    assert frames.n_frames >= 2
    assert _red(np.asarray(frames.convert("RGB"))) > 20


def test_bad_layers_are_one_error_line(files, tmp_path, capsys):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(files["out"].read_bytes()[:500])
    cases = [("render", str(tmp_path / "missing.ply")), ("render", str(bad)), ("render", str(files["other"])),
             ("animate", str(bad)), ("animate", str(files["other"]))]
    for i, (cmd, layer) in enumerate(cases):
        target = tmp_path / f"o{i}" if cmd == "render" else tmp_path / f"o{i}.gif"
        argv = [cmd, "--gaussians", layer, "-o", str(target)]
        argv += ["--size", "48"] if cmd == "render" else ["--motion", "walk", "--size", "48"]
        rc = run(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and err[0].startswith("error:"), (cmd, layer, err)
        assert not target.exists() or not any(target.iterdir()), target
    rc = run(["animate", "--motion", "walk", "--gaussians", str(files["out"]), "--conditions", str(tmp_path / "c"),
              "-o", str(tmp_path / "x.gif")])
    assert rc == 2 and "--conditions and --gaussians" in capsys.readouterr().err
