"""Pose tab: a reference picture (photo, drawing, render) -> the detected skeleton -> the pose
editor and the Image tab's condition.

:func:`pose_reference_upload` checks the upload like every image upload, reads it as 8-bit RGB
(alpha over white, 16-bit scaled, palette/CMYK converted, at most :data:`REFERENCE_MAX` pixels a
side), runs :func:`kyara.detect.detect` with the chosen backend, draws the OpenPose skeleton over
the picture, and fits the sliders to it (:func:`~kyara.studio.handlers.pose_fit.fit_pose_2d`).
The detection itself (its JSON, redrawn at the image size keeping the aspect ratio) is the
Image tab's openpose condition; depth comes from the fitted pose. Every failure is one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from kyara.detect.types import BACKENDS as DETECT_BACKENDS
from kyara.studio.handlers.common import as_upload, load_body
from kyara.studio.handlers.pose_fit import MIN_JOINTS, fit_pose_2d
from kyara.studio.handlers.poses import PREVIEW_SIZE, PosePreview, pose_preview, pose_state
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

REFERENCE_MAX = 1024  # pixels: a larger reference is scaled down (keeping its aspect) before detection
REFERENCE_MIN = 16  # pixels: a smaller side is refused
THRESHOLD = 0.3  # confidence under which a joint counts as not found


@dataclass
class ReferencePose:
    overlay: np.ndarray  # [H, W, 3] uint8: the detected skeleton drawn over the dimmed reference
    preview: PosePreview  # openpose = the detection; depth/toon of the fitted pose; files for the Image tab
    state: dict | None  # the pose state fitted to the detection (None: too few joints to fit)
    azimuth: float  # camera azimuth of the fitted view, degrees (0 without a fit)
    backend: str  # the detector that ran
    joints: int  # body joints found (of 18)
    notes: list[str] = field(default_factory=list)  # one line each: the detector's choice, the fit


def reference_rgb(path: str | os.PathLike, label: str) -> np.ndarray:
    """An image file as ``[H, W, 3] uint8`` RGB: alpha composited over white, 16-bit greyscale scaled
    to 8 bits, palette/CMYK/greyscale converted, the first frame of an animation, scaled down to
    :data:`REFERENCE_MAX` pixels a side. Raises ``ValueError`` naming ``label`` when a side is
    shorter than :data:`REFERENCE_MIN`."""
    from PIL import Image

    from kyara.fileio import load_image

    im = load_image(path, "upload", label=label)
    w, h = im.size
    if min(w, h) < REFERENCE_MIN:
        raise ValueError(f"upload '{label}' is {w}x{h} pixels, expected at least {REFERENCE_MIN} pixels a side")
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(im, np.float64)
        a = a / 257.0 if a.max() > 255 else a
        rgb = np.repeat(np.clip(a, 0, 255).round().astype(np.uint8)[..., None], 3, axis=2)
    else:
        rgba = np.asarray(im.convert("RGBA"), np.float64)
        alpha = rgba[..., 3:] / 255.0
        rgb = (rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if max(w, h) > REFERENCE_MAX:
        s = REFERENCE_MAX / max(w, h)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(rgb)


def detect_pose(rgb: np.ndarray, backend: str = "auto"):
    """:func:`kyara.detect.detect` on ``rgb [H, W, 3] uint8``; one-line ``ValueError`` when pose
    detection is not installed or the backend is unknown."""
    if backend not in DETECT_BACKENDS:
        raise ValueError(f"detector '{backend}' is unknown, expected one of {', '.join(DETECT_BACKENDS)}")
    try:
        from kyara.detect import detect
    except ImportError as exc:
        raise ValueError(f"pose detection is not available in this kyara installation ({exc})") from None
    det = detect(rgb, backend=backend)
    if (det.width, det.height) != (rgb.shape[1], rgb.shape[0]):
        raise ValueError(f"the {det.backend} detector answered for a {det.width}x{det.height} image, "
                         f"expected {rgb.shape[1]}x{rgb.shape[0]}")
    return det


def overlay_skeleton(rgb: np.ndarray, skeleton: np.ndarray) -> np.ndarray:
    """The OpenPose drawing ``skeleton [H, W, 3]`` (black = nothing) over ``rgb`` dimmed to half."""
    drawn = skeleton.max(axis=2, keepdims=True) > 0
    return np.where(drawn, skeleton, rgb // 2).astype(np.uint8)


def pose_reference_upload(ws: Workspace, path: str | os.PathLike | None, backend: str = "auto",
                          character: str | None = None, max_mb: float = DEFAULT_MAX_UPLOAD_MB,
                          size: tuple[int, int] = PREVIEW_SIZE) -> ReferencePose:
    """The Pose tab's reference upload: checks (:func:`~kyara.studio.session.check_upload`), detection,
    the skeleton over the picture, the sliders fitted to it (on the session's character, or the bare
    body), and the files the Image tab uses. Errors name the user's file, never a server path."""
    from PIL import Image

    from kyara.pose.openpose import write_openpose_json
    from kyara.render.openpose_draw import draw_openpose

    p = check_upload(path, "image", max_mb)
    d = ws.job_dir("pose")
    with as_upload(p.name, p, cleanup=d):
        rgb = reference_rgb(p, p.name)
        det = detect_pose(rgb, backend)
        found = det.present(THRESHOLD)
        if not found.any():
            raise ValueError(f"no figure found in '{p.name}' by the {det.backend} detector")
        person = det.to_keypoints2d(THRESHOLD)
        h, w = rgb.shape[:2]
        skeleton = draw_openpose([person], w, h)
        Image.fromarray(rgb).save(d / "reference.png")
        Image.fromarray(skeleton).save(d / "openpose.png")
        js = write_openpose_json(d / "pose.json", [person], w, h)
    notes = [f"{int(found.sum())}/18 joints found by the {det.backend} detector"
             + (f" ({det.reason})" if det.reason else "")]
    files = {"openpose": d / "openpose.png", "json": js, "openpose_json": js, "reference": d / "reference.png"}
    blank = np.zeros((size[1], size[0], 3), np.uint8)
    state, azimuth, depth, toon = None, 0.0, blank, blank
    if int(found[1:14].sum()) >= MIN_JOINTS:
        fit = fit_pose_2d(load_body(character), det.keypoints, pose_state("stand", character), THRESHOLD)
        state, azimuth = fit.state, fit.azimuth
        prev = pose_preview(ws, state, None, azimuth, 0.0, character, size)
        depth, toon = prev.depth, prev.toon
        files["depth"], files["toon"] = prev.files["depth"], prev.files["toon"]
        notes.append(f"sliders fitted (seen from {azimuth:.0f} degrees, joints within {100 * fit.error:.1f}% "
                     "of the figure's size)")
    else:
        notes.append(f"too few body joints to set the sliders (expected at least {MIN_JOINTS})")
    return ReferencePose(overlay_skeleton(rgb, skeleton), PosePreview(skeleton, depth, toon, files, notes), state,
                         azimuth, det.backend, int(found.sum()), notes)


def pose_json_fitted(ws: Workspace, path: str | os.PathLike | None, character: str | None = None,
                     max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> ReferencePose:
    """The Pose tab's OpenPose JSON upload as the session's one pose: the file drawn on its canvas
    (:func:`~kyara.studio.handlers.poses.pose_json_upload`: the OpenPose condition), the sliders
    fitted to its first person by inverse kinematics (:func:`fit_pose_2d`) and depth/toon rendered
    from that fitted pose on the same canvas. With fewer than :data:`MIN_JOINTS` body joints there
    is no fit: ``state`` is None, depth/toon are blank and the files hold no depth."""
    from kyara.studio.handlers.poses import pose_json_upload

    prev = pose_json_upload(ws, path, max_mb)
    h, w = prev.openpose.shape[:2]
    notes = list(prev.notes)
    person = prev.people[0] if prev.people else None
    kp = person.body if person is not None else np.zeros((18, 3))
    found = kp[:, 2] >= THRESHOLD
    n_body = int(found[1:14].sum())
    if n_body < MIN_JOINTS:
        notes.append(f"{n_body} body joints: too few to set the sliders (expected at least {MIN_JOINTS}); the Image "
                     "tab uses the drawing as the OpenPose condition, and there is no depth for it")
        return ReferencePose(prev.openpose, prev, None, 0.0, "openpose json", int(found.sum()), notes)
    fit = fit_pose_2d(load_body(character), kp, pose_state("stand", character), THRESHOLD)
    fit.state["name"] = "uploaded"
    body = pose_preview(ws, fit.state, None, fit.azimuth, 0.0, character, (w, h))
    # the render frames the figure to fill the canvas; move it onto the uploaded figure (scale and offset)
    s, t = similarity_2d(body.people[0].body, kp, THRESHOLD)
    depth, toon = align_image(body.depth, s, t, (0, 0, 0)), align_image(body.toon, s, t, (246, 244, 240))
    from PIL import Image

    Image.fromarray(depth).save(body.files["depth"])
    Image.fromarray(toon).save(body.files["toon"])
    files = dict(prev.files, depth=body.files["depth"], toon=body.files["toon"])
    notes.append(f"sliders fitted (seen from {fit.azimuth:.0f} degrees, joints within {100 * fit.error:.1f}% "
                 "of the figure's size)")
    out = PosePreview(prev.openpose, depth, toon, files, notes, prev.people)
    return ReferencePose(prev.openpose, out, fit.state, fit.azimuth, "openpose json", int(found.sum()), notes)


def similarity_2d(src: np.ndarray, dst: np.ndarray, threshold: float = THRESHOLD) -> tuple[float, np.ndarray]:
    """Scale ``s > 0`` and offset ``t [2]`` (pixels) that best map the keypoints ``src [N, 3]`` onto
    ``dst [N, 3]`` (least squares over the points present in both: confidence >= ``threshold``);
    (1, 0) when fewer than two are."""
    both = (src[:, 2] >= threshold) & (dst[:, 2] >= threshold)
    if both.sum() < 2:
        return 1.0, np.zeros(2)
    p, q = src[both, :2], dst[both, :2]
    pm, qm = p.mean(0), q.mean(0)
    var = ((p - pm) ** 2).sum()
    s = float(((p - pm) * (q - qm)).sum() / var) if var > 1e-9 else 1.0
    s = max(s, 1e-3)
    return s, qm - s * pm


def align_image(img: np.ndarray, s: float, t: np.ndarray, fill) -> np.ndarray:
    """``img [H, W, 3] uint8`` moved by ``x -> s * x + t`` (pixel centres), the same size; ``fill``
    where nothing maps."""
    from PIL import Image

    h, w = img.shape[:2]
    # PIL's AFFINE maps an output point (x, y) to the input point (a x + b y + c, d x + e y + f): the inverse
    a = 1.0 / s
    out = Image.fromarray(img).transform((w, h), Image.Transform.AFFINE, (a, 0.0, -t[0] * a, 0.0, a, -t[1] * a),
                                         Image.Resampling.BILINEAR, fillcolor=tuple(int(v) for v in fill))
    return np.asarray(out)
