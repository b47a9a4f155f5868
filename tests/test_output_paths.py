"""An output path nothing can be written to fails before any heavy work: one ``error:`` line that
names the user's path (not a temporary file), exit 2, in well under a second, for every command."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from kyara.cli.main import run
from kyara.fileio import atomic_path, check_output_dir, check_output_path

needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux") or not Path("/proc/self").is_dir(),
                                reason="needs Linux /proc (a folder where even root cannot create files)")

# /proc refuses new files even to root, for whom os.access() says "writable"
UNWRITABLE = {
    "animate": (["animate", "--motion", "walk", "-o", "/proc/kyara_x.mp4"], "/proc/kyara_x.mp4"),
    "turntable": (["turntable", "-o", "/proc/kyara_x.gif"], "/proc/kyara_x.gif"),
    "render": (["render", "-o", "/proc/kyara_x"], "/proc/kyara_x"),
    "export": (["export", "--prompt", "a girl", "--format", "stl", "-o", "/proc/kyara_x.stl"], "/proc/kyara_x.stl"),
    "export-glb": (["export", "--prompt", "a girl", "--format", "glb", "-o", "/proc/kyara_x.glb"], "/proc/kyara_x.glb"),
    "create": (["create", "a girl", "-o", "/proc/kyara_x"], "/proc/kyara_x"),
    "animate-conditions": (["animate", "--motion", "walk", "-o", "{tmp}/a.gif", "--conditions", "/proc/kyara_c"],
                           "/proc/kyara_c"),
}


@needs_proc
@pytest.mark.parametrize("name", sorted(UNWRITABLE))
def test_unwritable_output_fails_fast_with_one_line_naming_the_path(name, capsys, tmp_path):
    argv, user_path = UNWRITABLE[name]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    t0 = time.perf_counter()
    code = run(argv)
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert f"'{user_path}'" in lines[0] and ".tmp" not in lines[0], lines[0]
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s to refuse an unwritable output"
    assert list(tmp_path.iterdir()) == []  # nothing written elsewhere either (the video of animate)


@needs_proc
def test_check_helpers_probe_by_creating_a_file(tmp_path):
    # a writable folder passes and is left as it was (the probe file is removed)
    assert check_output_path(tmp_path / "a.png", (".png",)) == tmp_path / "a.png"
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"output '/proc/x\.png' cannot be written"):
        check_output_path("/proc/x.png", (".png",))
    with pytest.raises(ValueError, match=r"output '/proc/x' cannot be written"):
        check_output_dir("/proc/x")


@needs_proc
def test_atomic_write_names_the_users_path_not_the_temporary_file():
    with pytest.raises(ValueError) as info:
        with atomic_path("/proc/kyara_y.bin") as tmp:
            tmp.write_bytes(b"x")
    assert "'/proc/kyara_y.bin'" in str(info.value) and ".tmp" not in str(info.value)


def test_atomic_write_failure_in_the_block_is_not_renamed(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError("disk full")  # the writer's own error passes through unchanged
    assert not target.exists() and list(tmp_path.iterdir()) == []
