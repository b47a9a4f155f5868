"""How well :func:`kyara.drawing.lift` recovers characters whose 3D truth is known.

**Synthetic drawings** (:func:`synthetic_drawings`, needs the headless GL context): random kyara
characters (:func:`kyara.dataset.sampling.random_spec`, built at dataset quality) standing as people
draw them for AnimatedDrawings (arms away from the body: upper arms 0-60 deg below horizontal,
elbows bent up to 30 deg, legs apart up to 12 deg, the head turned a little), seen from the front
(azimuth within +-10 deg, a long lens: 30 deg field of view), rendered as the ``drawings`` dataset
kind draws them (:mod:`kyara.dataset.drawing`: jittered ink strokes of the lineart, over flat colours
or alone, on tinted paper). The truth of each: the render's mask, the projected COCO-18 joints, the
posed mesh.

**Figures** per drawing (:func:`score`):

* ``mask_iou``: the automatic paper mask against the render's mask;
* ``pck@0.05``, ``pck@0.1`` of the joints the lift used (medial axis, or the detector when it is
  confident) and of the bounding-box template baseline (``base_pck@...``), against the projected
  COCO-18 joints the camera sees, normalized by the box diagonal (:func:`kyara.detect.metrics.pck`);
* ``side_iou``: the side view (orthographic, along +X) of the lifted character in its drawn pose
  against the true character's in its true pose, both scaled to unit height, standing on the same
  floor and centred in depth: how plausible the invented depth is;
* ``walk_err``: the built-in ``walk`` retargeted onto both; the mean distance of their front-view
  COCO-18 body joints over the clip, each skeleton scaled to unit height and its pelvis put on the
  other's, as a share of the height.

**Real drawings** (:func:`real_figures`): AnimatedDrawings' two annotated drawings, padded with paper
(their ``texture.png`` is a tight crop), through the automatic mask and the joint search: the mask
IoU against that project's mask and the PCK against its annotation (there is no 3D truth).

``kyara eval drawing`` (:func:`cli_report`) and benchmarks/drawing.py both run
:func:`evaluate_synthetic` and check :data:`GOALS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

BODY_JOINTS = 14  # COCO-18 nose .. ankles: the joints a drawing's skeleton places (eyes/ears are guesses)
# the goals for the synthetic figures: name -> (op, target); PCK@0.1 must also beat the box template
GOALS = {"pck@0.05": (">=", 0.9), "side_iou": (">=", 0.7), "walk_err": ("<=", 0.05)}
REAL_CHARACTERS = ("char1", "char2")  # AnimatedDrawings' two annotated drawings


@dataclass
class SyntheticDrawing:
    name: str
    rgb: np.ndarray  # [H, W, 3] uint8 drawing on paper
    mask: np.ndarray  # [H, W] bool, the render's
    keypoints: np.ndarray  # [18, 3] COCO-18 pixels, 1 where the camera sees the joint
    character: object  # the true kyara Character
    body: object  # its kyara.avatar.body.AvatarBody
    pose: object  # its Pose
    style: dict  # the drawing style (kyara.dataset.drawing.DrawingStyle.to_dict())


def drawing_pose(rng: np.random.Generator):
    """A pose as people draw characters: arms away from the body, legs a little apart (module doc)."""
    from kyara.body.skeleton import BONE_INDEX, NUM_BONES
    from kyara.pose.pose import Pose
    from kyara.pose.rotations import axis_angle_to_matrix, matrix_to_quat

    rot = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        down = np.deg2rad(rng.uniform(0.0, 60.0))
        rot[BONE_INDEX[f"{side}UpperArm"]] = axis_angle_to_matrix(np.array([0.0, 0.0, -sx * down]))
        bend = np.deg2rad(rng.uniform(0.0, 30.0))
        rot[BONE_INDEX[f"{side}LowerArm"]] = axis_angle_to_matrix(np.array([0.0, -sx * bend, 0.0]))
        spread = np.deg2rad(rng.uniform(0.0, 12.0))
        rot[BONE_INDEX[f"{side}UpperLeg"]] = axis_angle_to_matrix(np.array([0.0, 0.0, sx * spread]))
        rot[BONE_INDEX[f"{side}LowerLeg"]] = axis_angle_to_matrix(np.array([0.0, 0.0, -sx * 0.5 * spread]))
    rot[BONE_INDEX["head"]] = axis_angle_to_matrix(np.array([0.0, np.deg2rad(rng.uniform(-10, 10)), 0.0]))
    return Pose(matrix_to_quat(rot), np.zeros(3))


def _drawing_style(size: int):
    from kyara.render.toon import MapStyle, ToonStyle

    # as the dataset's `drawings` kind: flat colours, everything lit, no rim, a thin outline
    return MapStyle(toon=ToonStyle(shading_shift=2.0, rim_color=(0.0, 0.0, 0.0), outline_width=1 if size <= 256 else 2))


def synthetic_drawings(count: int = 100, per_character: int = 8, size: int = 256, seed: int = 0) -> list[SyntheticDrawing]:
    """``count`` drawings of ``ceil(count / per_character)`` random characters (module doc). Needs GL."""
    from kyara.avatar import character_body
    from kyara.character.build import BuildOptions, build_character
    from kyara.dataset.drawing import draw, random_style
    from kyara.dataset.sampling import random_spec, rng_for
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
    from kyara.render.camera import view_camera
    from kyara.render.pipeline import RenderConfig, View, make_renderer, render_views

    out: list[SyntheticDrawing] = []
    style = _drawing_style(size)
    index = 0
    while len(out) < count:
        character = build_character(random_spec(seed, index), BuildOptions(quality="dataset"))
        body = character_body(character)
        renderer = make_renderer(body, (size, size))
        try:
            for k in range(min(per_character, count - len(out))):
                rng = rng_for(seed, index, 7, k)
                pose = drawing_pose(rng)
                verts = body.pose(pose)[0]
                lo, hi = np.asarray(verts).min(axis=0), np.asarray(verts).max(axis=0)
                az = float(rng.uniform(-10.0, 10.0))
                cam = view_camera(az, lo, hi, (size, size), fovy_deg=30.0, margin=1.2)
                r = render_views(body, pose, [View(f"az{az:.1f}", cam, az)],
                                 RenderConfig(maps=("toon", "lineart", "mask"), style=style), renderer=renderer,
                                 vertices=verts, check_cameras=False)
                kp3 = body_keypoints(body, pose.rotations, pose.translation)
                seen = visible_keypoints(body, kp3, [cam], verts[None])[0]
                k2 = project_keypoints(kp3, cam, seen).body.copy()
                k2[:, 2] = (k2[:, 2] > 0).astype(np.float64)
                dstyle = random_style(rng, size)
                rgb = draw(rng, r.maps["lineart"][0], r.maps["toon"][0], dstyle)
                out.append(SyntheticDrawing(f"c{index:03d}_{k}", rgb, r.maps["mask"][0][..., 0] > 127, k2, character,
                                            body, pose, dstyle.to_dict()))
        finally:
            renderer.release()
        index += 1
    return out


# -- figures --------------------------------------------------------------------------------------
def _rasterize_reference(yz: np.ndarray, faces: np.ndarray, res: int) -> np.ndarray:
    """Silhouette ``[res, res]`` of triangles with 2D points ``yz [V, 2]`` in [0, 1] (x right, y up):
    every triangle filled by OpenCV, one at a time (slow, exact)."""
    import cv2

    img = np.zeros((res, res), np.uint8)
    px = np.rint(np.stack([yz[:, 0], 1.0 - yz[:, 1]], axis=1) * (res - 1) * 16).astype(np.int32)
    tri = px[faces]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    keep = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) != 0  # not degenerate at this resolution
    for t in tri[keep]:
        cv2.fillConvexPoly(img, t, 1, shift=4)
    return img > 0


_BARY = np.array([(a, b, 1.0 - a - b) for a in np.linspace(0, 1, 5) for b in np.linspace(0, 1, 5) if a + b <= 1.0])


def _rasterize(yz: np.ndarray, faces: np.ndarray, res: int) -> np.ndarray:
    """:func:`_rasterize_reference` by splatting 15 points per triangle (its corners, edges and inside)
    and closing the pixel gaps; triangles wider than a pixel get their own pass. For meshes whose
    triangles are about a pixel or smaller, as here (tests compare the two)."""
    import cv2

    p = np.stack([yz[:, 0], 1.0 - yz[:, 1]], axis=1) * (res - 1)
    tri = p[faces]  # [F, 3, 2]
    pts = np.einsum("kc,fcd->fkd", _BARY, tri).reshape(-1, 2)
    img = np.zeros((res, res), np.uint8)
    ij = np.clip(np.rint(pts).astype(np.int64), 0, res - 1)
    img[ij[:, 1], ij[:, 0]] = 1
    span = np.ptp(tri, axis=1).max(axis=1)
    big = np.flatnonzero(span > 3.0)
    for t in np.rint(tri[big] * 16).astype(np.int32):
        cv2.fillConvexPoly(img, t, 1, shift=4)
    img = cv2.morphologyEx(img, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return img > 0


def side_silhouette(vertices: np.ndarray, faces: np.ndarray, res: int = 256) -> np.ndarray:
    """The orthographic side view (along +X) of a posed mesh, scaled to unit height, floor at the
    bottom, centred in depth: ``[res, res]`` bool."""
    v = np.asarray(vertices, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    h = max(hi[1] - lo[1], 1e-9)
    z = (v[:, 2] - 0.5 * (lo[2] + hi[2])) / h + 0.5
    y = (v[:, 1] - lo[1]) / h * 0.98
    return _rasterize(np.stack([z, y], axis=1), faces, res)


def walk_error(true_body, lifted_body, motion_name: str = "walk", fps: float = 15.0) -> float:
    """Mean distance (share of the height) of the COCO-18 body joints of a motion retargeted onto
    both bodies, front view, each scaled to unit height, pelvises on each other."""
    from kyara.motion import load_motion, retarget
    from kyara.pose.keypoints import body_keypoints

    skeleton, mocap = load_motion(motion_name)
    out = []
    for body in (true_body, lifted_body):
        clip = retarget(mocap, skeleton, body.layout, fps=fps)
        kp = body_keypoints(body, clip.rotations, clip.translation).body[:, :BODY_JOINTS, :2]  # [F, 14, 2] (x, y)
        height = float(body.layout.dims["H"])
        pelvis = 0.5 * (kp[:, 8] + kp[:, 11])
        out.append((kp - pelvis[:, None, :]) / height)
    n = min(len(out[0]), len(out[1]))
    return float(np.linalg.norm(out[0][:n] - out[1][:n], axis=-1).mean())


def score(sample: SyntheticDrawing, config=None, walk: bool = True) -> dict:
    """The figures of the module doc for one synthetic drawing (the lift from the drawing alone)."""
    from kyara.avatar import character_body
    from kyara.detect.drawings import template_baseline
    from kyara.detect.metrics import mask_iou, pck
    from kyara.drawing.character import LiftConfig, lift

    cfg = config or LiftConfig()
    t = time.perf_counter()
    lifted = lift(sample.rgb, config=cfg)
    seconds = time.perf_counter() - t
    info = lifted.spec
    gt = np.where((np.arange(18) < BODY_JOINTS)[:, None], sample.keypoints, 0.0)
    out = {"name": sample.name, "seconds": seconds, "joints": info.joints_source,
           "mask_iou": mask_iou(info.mask, sample.mask)}
    base = template_baseline(sample.mask)
    for th in (0.05, 0.1):
        out[f"pck@{th}"] = pck(info.keypoints, gt, sample.mask, th)
        out[f"base_pck@{th}"] = pck(base, gt, sample.mask, th)
    true_body = sample.body
    tv, _ = true_body.pose(sample.pose)
    lv, _ = lifted.pose_vertices(info.drawn_pose().rotations, info.drawn_pose().translation)
    out["side_iou"] = mask_iou(side_silhouette(tv, true_body.faces), side_silhouette(lv, lifted.parts[0].faces))
    if walk:
        out["walk_err"] = walk_error(true_body, character_body(lifted))
    return out


def summarize(rows: list[dict]) -> dict:
    """Means of the numeric figures over ``rows`` (NaNs left out), plus the count."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float)) and not isinstance(rows[0][k], bool)]
    out = {"count": len(rows)}
    for k in keys:
        vals = np.array([r[k] for r in rows if k in r], dtype=np.float64)
        out[k] = float(np.nanmean(vals)) if len(vals) else float("nan")
    return out


def real_figures(folder: str, config=None) -> dict:
    """Mask IoU and PCK of one AnimatedDrawings character folder (module doc)."""
    import cv2

    from kyara.detect.drawings import load_drawing, template_baseline
    from kyara.detect.metrics import mask_iou, pck
    from kyara.drawing.segment import character_mask, ink_map
    from kyara.drawing.skeleton import SkeletonConfig, estimate_skeleton

    d = load_drawing(folder)
    p = int(0.06 * max(d.rgb.shape[:2]))
    paper = [int(round(255 * c)) for c in ink_map(d.rgb)[2]]
    rgb = cv2.copyMakeBorder(d.rgb, p, p, p, p, cv2.BORDER_CONSTANT, value=paper)
    gt_mask = np.pad(d.mask, p)
    gt = d.keypoints.copy()
    gt[:, :2] += p * (gt[:, 2:3] > 0)
    m = character_mask(rgb).mask
    cfg = config.skeleton if config is not None else SkeletonConfig()
    skel = estimate_skeleton(rgb, m, config=cfg)
    base = template_baseline(m)
    return {"name": d.name, "mask_iou": mask_iou(m, gt_mask), "joints": skel.source,
            "pck@0.05": pck(skel.keypoints, gt, gt_mask, 0.05), "pck@0.1": pck(skel.keypoints, gt, gt_mask, 0.1),
            "base_pck@0.05": pck(base, gt, gt_mask, 0.05), "base_pck@0.1": pck(base, gt, gt_mask, 0.1)}


def goal_ok(value: float, op: str, target: float) -> str:
    """``"ok"`` when ``value`` meets ``op target`` (``">="`` or ``"<="``), else ``"FAIL"``."""
    eps = 1e-9  # a mean of fractions that is the goal to the last bit (1260 / 1400 = 0.9) meets it
    return "ok" if (value >= target - eps if op == ">=" else value <= target + eps) else "FAIL"


@dataclass
class SyntheticReport:
    rows: list  # one dict of figures per drawing (score()); a refused drawing counts as a miss
    refused: list  # (name, reason) of the drawings the lift refused
    summary: dict  # summarize(rows), walk_err the mean over the drawings that ran the walk
    sources: dict  # joints source -> how many drawings
    walks: int  # drawings the walk error was measured on
    seconds_make: float  # making the drawings
    seconds_score: float  # scoring them


def evaluate_synthetic(count: int = 100, per_character: int = 10, size: int = 384, seed: int = 0,
                       walk_count: int = 10, config=None) -> SyntheticReport:
    """:func:`synthetic_drawings` scored with :func:`score` (the walk on every ``count // walk_count``-th
    drawing); a drawing the lift refuses (``ValueError``) counts as a miss on every figure. Needs GL."""
    from kyara.drawing.character import LiftConfig

    cfg = config or LiftConfig()
    t = time.perf_counter()
    samples = synthetic_drawings(count, per_character, size, seed)
    t_make = time.perf_counter() - t
    rows, refused = [], []
    every = max(1, count // max(1, walk_count))
    t = time.perf_counter()
    for k, s in enumerate(samples):
        try:
            rows.append(score(s, cfg, walk=k % every == 0))
        except ValueError as exc:
            refused.append((s.name, str(exc)))
            rows.append({"name": s.name, "seconds": float("nan"), "joints": "refused", "mask_iou": 0.0,
                         "pck@0.05": 0.0, "base_pck@0.05": float("nan"), "pck@0.1": 0.0, "base_pck@0.1": float("nan"),
                         "side_iou": 0.0})
    t_score = time.perf_counter() - t
    summary = summarize(rows)
    walk = [r["walk_err"] for r in rows if "walk_err" in r]
    summary["walk_err"] = float(np.mean(walk)) if walk else float("nan")
    sources = {src: sum(r["joints"] == src for r in rows) for src in sorted({r["joints"] for r in rows})}
    return SyntheticReport(rows, refused, summary, sources, len(walk), t_make, t_score)


def real_drawings_folder():
    """The folder holding AnimatedDrawings' ``char1`` and ``char2`` (the project's test data, else
    ``../shared/drawings/animated-drawings`` beside the repository), or ``None``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for folder in (root / "tests" / "data" / "drawings" / "animated-drawings",
                   root.parent / "shared" / "drawings" / "animated-drawings"):
        if all((folder / c / "char_cfg.yaml").is_file() for c in REAL_CHARACTERS):
            return folder
    return None


def cli_report(data: list, count: int | None, weights: str | None, seed: int) -> tuple[list[str], dict]:
    """``kyara eval drawing``: ``count`` (default 100) synthetic drawings of seed ``seed`` at 384 px and
    the two real drawings when their folder is there; the printed lines and the figures as a dict.
    The lift has no weights and draws its own characters: ``data`` and ``weights`` are refused."""
    if data:
        raise ValueError("--data is not used by kyara eval drawing (it draws its own held-out characters)")
    if weights is not None:
        raise ValueError(f"--weights '{weights}' is not used by kyara eval drawing (the lift has no weights)")
    count = 100 if count is None else int(count)
    if count < 1:
        raise ValueError(f"--count is {count}, expected a positive integer")
    per_character, size = 10, 384
    rep = evaluate_synthetic(count, per_character, size, seed)
    syn = rep.summary
    checks = {k: goal_ok(syn[k], *GOALS[k]) for k in GOALS}
    checks["pck@0.1>template"] = "ok" if syn["pck@0.1"] > syn["base_pck@0.1"] else "FAIL"
    folder = real_drawings_folder()
    real = [real_figures(str(folder / c)) for c in REAL_CHARACTERS] if folder is not None else []
    characters = -(-count // per_character)
    lines = [f"{count} synthetic drawings of {characters} random kyara character(s) at {size} px (seed {seed}); "
             f"joints from {rep.sources}; {len(rep.refused)} refused; walk on {rep.walks}; "
             f"{rep.seconds_make:.0f} s to draw, {rep.seconds_score:.0f} s to lift and score",
             f"{'figure':<34} {'kyara':>7} {'template':>9}  goal",
             f"{'synthetic mask IoU':<34} {syn['mask_iou']:>7.3f} {'':>9}  report",
             f"{'joint PCK@0.05':<34} {syn['pck@0.05']:>7.3f} {syn['base_pck@0.05']:>9.3f}  >= 0.9 {checks['pck@0.05']}",
             f"{'joint PCK@0.1':<34} {syn['pck@0.1']:>7.3f} {syn['base_pck@0.1']:>9.3f}  > template "
             f"{checks['pck@0.1>template']}",
             f"{'side-view silhouette IoU':<34} {syn['side_iou']:>7.3f} {'':>9}  >= 0.7 {checks['side_iou']}",
             f"{'walk keypoint error / height':<34} {syn['walk_err']:>7.3f} {'':>9}  <= 0.05 {checks['walk_err']}"]
    for r in real:
        lines.append(f"{'real ' + r['name'] + ' joint PCK@0.05':<34} {r['pck@0.05']:>7.3f} {r['base_pck@0.05']:>9.3f}"
                     f"  report (PCK@0.1 {r['pck@0.1']:.3f}, template {r['base_pck@0.1']:.3f}; "
                     f"mask IoU {r['mask_iou']:.3f})")
    if not real:
        lines.append("real drawings: not found (tests/data/drawings or ../shared/drawings)")
    figures = {"count": count, "seed": seed, "size": size, "synthetic": syn, "goals": checks,
               "sources": rep.sources, "refused": [list(x) for x in rep.refused], "real": real, "rows": rep.rows}
    return lines, _finite(figures)


def _finite(x):
    """``x`` with NaN/inf floats as ``None`` (strict JSON), numpy scalars as Python numbers."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
