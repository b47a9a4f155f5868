"""Optional extras that are not installed end in one line naming the command that installs them."""

from __future__ import annotations

import importlib.util

import pytest

from kyara.cli.main import run

_real_find_spec = importlib.util.find_spec


def _hide(monkeypatch, *names: str) -> None:
    def find_spec(name, *args, **kwargs):
        if name.split(".")[0] in names:
            return None
        return _real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize("argv,hidden,extra", [
    (["image", "a girl", "--model", "tiny", "--steps", "2", "--size", "64", "--pose", "stand"], ("diffusers",),
     "diffusion"),
    (["image", "a girl", "--model", "tiny", "--steps", "2", "--size", "64", "--pose", "stand"], ("torch",),
     "diffusion"),
    (["studio", "--port", "7999"], ("gradio",), "studio"),
])
def test_missing_extra_names_make_extras(monkeypatch, capsys, tmp_path, argv, hidden, extra):
    _hide(monkeypatch, *hidden)
    out = tmp_path / "x.png"
    code = run([*argv, "-o", str(out)] if argv[0] == "image" else argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ")
    assert "`make extras`" in err[0] and f"kyara[{extra}]" in err[0]
    assert not out.exists()


def test_extras_are_found_when_installed():
    """The check itself does not refuse what is there (the suite installs every extra)."""
    from kyara.errors import require_extra

    require_extra(("numpy", "yaml"), "anything", "render", "numpy")


def test_package_docstring_names_every_package_and_module():
    import pkgutil
    from pathlib import Path

    import kyara

    root = Path(kyara.__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(root)])]
    names += [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_") and p.name not in names
              and any(p.iterdir())]
    assert len(names) >= 12
    for name in names:
        assert f"kyara.{name}" in kyara.__doc__, f"kyara/__init__.py does not name kyara.{name}"


def test_cuda_device_without_a_gpu_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    out = tmp_path / "x.png"
    code = run(["image", "a girl", "--model", "tiny", "--steps", "2", "--size", "64", "--pose", "stand",
                "--device", "cuda", "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no CUDA GPU" in err[0]
    assert not out.exists()
