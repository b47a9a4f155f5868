"""ControlNet's OpenPose drawing as an oracle: ``controlnet_aux/open_pose/util.py`` loaded by file path.

The controlnet_aux package cannot be imported here (its ``__init__`` needs torchvision, which has
no CPU build on this machine), so we never import it. We locate the installed distribution with
``importlib.util.find_spec`` (which does not execute the package) and execute only
``open_pose/util.py`` under a private module name. That file imports ``math``, ``numpy``, ``cv2``,
``typing`` and ``from .body import BodyResult, Keypoint``; ``.body`` imports torch and the network
code, so we provide a stub ``body`` module holding only the two NamedTuples (same fields as
controlnet_aux's). ``draw_handpose`` does ``import matplotlib`` and calls
``matplotlib.colors.hsv_to_rgb``; when matplotlib is not installed we put a stub module in
``sys.modules`` *only while an oracle function runs*, implementing matplotlib's documented HSV
formula with numpy (the real matplotlib is used when available).

Install for the tests:  pip install --no-deps "controlnet-aux==0.0.10"
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

_PKG = "_kyara_oracle_controlnet_aux"


class Keypoint(NamedTuple):  # same fields as controlnet_aux.open_pose.body.Keypoint
    x: float
    y: float
    score: float = 1.0
    id: int = -1


class BodyResult(NamedTuple):  # same fields as controlnet_aux.open_pose.body.BodyResult
    keypoints: list
    total_score: float = 0.0
    total_parts: int = 0


def util_path() -> Path | None:
    """Path of the installed ``controlnet_aux/open_pose/util.py``, or None when not installed."""
    spec = importlib.util.find_spec("controlnet_aux")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "open_pose" / "util.py"
    return p if p.is_file() else None


def _hsv_to_rgb(hsv) -> np.ndarray:
    """matplotlib.colors.hsv_to_rgb's formula for one colour (sector i = int(6h), f = 6h - i)."""
    h, s, v = (np.float64(c) for c in hsv)
    i = int(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6]
    return np.array(rgb, dtype=np.float64)


@contextlib.contextmanager
def _matplotlib_available() -> Iterator[None]:
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib.colors  # noqa: F401  (util.py uses matplotlib.colors after `import matplotlib`)

        yield
        return
    mpl = types.ModuleType("matplotlib")
    colors = types.ModuleType("matplotlib.colors")
    colors.hsv_to_rgb = _hsv_to_rgb
    mpl.colors = colors
    saved = {k: sys.modules.get(k) for k in ("matplotlib", "matplotlib.colors")}
    sys.modules["matplotlib"], sys.modules["matplotlib.colors"] = mpl, colors
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _ensure_stub_package() -> None:
    if _PKG in sys.modules:
        return
    pkg = types.ModuleType(_PKG)
    pkg.__path__ = []  # a package, so the relative import `.body` resolves
    body = types.ModuleType(f"{_PKG}.body")
    body.Keypoint, body.BodyResult = Keypoint, BodyResult
    sys.modules[_PKG], sys.modules[f"{_PKG}.body"] = pkg, body


def load_util(name: str = "util", cv2_module=None) -> types.ModuleType | None:
    """Execute util.py as ``<private pkg>.<name>``; optionally replace its ``cv2`` global."""
    path = util_path()
    if path is None:
        return None
    full = f"{_PKG}.{name}"
    if full in sys.modules:  # one module per name; the name encodes the cv2 stand-in
        return sys.modules[full]
    _ensure_stub_package()
    spec = importlib.util.spec_from_file_location(full, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[full] = mod
    spec.loader.exec_module(mod)
    if cv2_module is not None:
        mod.cv2 = cv2_module
    return mod


class _XinsirCv2:
    """cv2 stand-in for util.draw_bodypose applying xinsir's rule: stick width and joint radius x ratio.

    draw_bodypose calls ``ellipse2Poly(center, (half_len, 4), ...)`` and ``circle(.., 4, ..)``;
    xinsir's version calls them with ``int(4 * ratio)`` instead. Everything else passes through.
    """

    def __init__(self, ratio: float):
        import cv2

        self._cv2, self._ratio = cv2, ratio

    def ellipse2Poly(self, center, axes, angle, a0, a1, delta):
        assert axes[1] == 4, axes
        return self._cv2.ellipse2Poly(center, (axes[0], int(4 * self._ratio)), angle, a0, a1, delta)

    def circle(self, img, center, radius, color, thickness=1):
        assert radius == 4, radius
        return self._cv2.circle(img, center, int(4 * self._ratio), color, thickness=thickness)

    def __getattr__(self, item):
        return getattr(self._cv2, item)


def _to_annotator(person, width: int, height: int):
    """Our Keypoints2D -> the annotator's inputs (normalized coords; dropped points as it expects)."""

    def kept(row):
        x, y, c = (float(v) for v in row)
        return c > 0 and 0 <= x < width and 0 <= y < height

    body = [Keypoint(r[0] / width, r[1] / height) if kept(r) else None for r in person.body]

    def part(arr):  # hands/face: the annotator marks a missing point as (0, 0)
        if not any(kept(r) for r in arr):
            return None
        return [Keypoint(r[0] / width, r[1] / height) if kept(r) else Keypoint(0.0, 0.0) for r in arr]

    return body, part(person.hand_left), part(person.hand_right), part(person.face)


def oracle_draw(people, width: int, height: int, thick_ratio: float | None = None,
                draw_body: bool = True, draw_hands: bool = True, draw_face: bool = True) -> np.ndarray:
    """The annotator's ``draw_poses`` loop, calling util.py's own draw functions.

    ``thick_ratio``: None for the classic drawing; a number to draw the body with xinsir's widths.
    """
    util = load_util()
    body_util = util if thick_ratio is None else load_util(f"util_xinsir_{thick_ratio:g}", _XinsirCv2(thick_ratio))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    with _matplotlib_available():
        for person in people:
            body, left, right, face = _to_annotator(person, width, height)
            if draw_body:
                canvas = body_util.draw_bodypose(canvas, body)
            if draw_hands:
                canvas = util.draw_handpose(canvas, left)
                canvas = util.draw_handpose(canvas, right)
            if draw_face:
                canvas = util.draw_facepose(canvas, face)
    return canvas
