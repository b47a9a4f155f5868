"""Step 2 of :func:`kyara.drawing.lift`: the drawn character's joints (COCO-18, drawing pixels).

Sources, first that works (:func:`estimate_skeleton`):

1. ``joints`` the caller gives (``--joints``: AnimatedDrawings ``char_cfg.yaml`` or OpenPose JSON,
   :mod:`kyara.drawing.joints_io`); joints it lacks are filled in from the steps below;
2. the detector (:func:`kyara.detect.detect`) when it is *confident*: every joint a rig needs at
   :attr:`SkeletonConfig.detector_threshold` or more and inside the (slightly grown) mask. The
   threshold is high (0.8): the first shipped kyara detector reports 0.34-0.67 for its least sure
   joint on drawings where its PCK@0.1 is 0.43-0.71 and the medial axis' 0.79-1.0 (8 synthetic
   drawings of kyara characters and the two AnimatedDrawings drawings, given masks, 2026-12-04), so
   today it is mostly not used;
3. the mask's medial axis matched to a humanoid template (:func:`medial_axis_joints`): the axis'
   end points are matched to head, hands and feet by where a standing figure has them (one optimal
   assignment), and the joints are placed along the axis paths between them: shoulders and hips
   where the figure's width across the limb first grows into the torso (:func:`limb_root`; hips
   hidden by a skirt, coat or shorts a set share below the waist, :func:`waist_of`), elbows and
   knees half-way along the limbs,
   wrists and ankles a little back from the ends, the nose :data:`NOSE_RATIO` of the way from the
   head's top to the shoulders;
4. the bounding-box template (:func:`kyara.detect.drawings.template_baseline`).

Whatever the source, the same axis graph checks that the figure is a humanoid
(:func:`check_humanoid`): more than :data:`MAX_LIMBS` long branches (six arms, tentacles) or a wide
figure standing on three or more legs (a quadruped) ends in a one-line ``ValueError``, never in a
wrong rig. Joints the user gives skip that check: they say what the figure is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kyara.drawing.axis import (AxisGraph, arc_lengths, axis_graph, branches, chord_widths, common_prefix,  # noqa: F401
                                components, limb_ends, path_to, point_at, row_width)
from kyara.drawing.joints_io import CORE_INDEX, HEAD_INDEX, missing_core
from kyara.pose.openpose import OPENPOSE_BODY_NAMES

MAX_LIMBS = 8  # long axis branches a humanoid may have (head, arms, legs, and pigtails, a skirt's hem, a tail)
LIMB_LENGTH = 0.15  # a branch at least this share of the figure's height is a limb
SOURCES = ("joints file", "detector", "medial axis", "box template")
J = {n: i for i, n in enumerate(OPENPOSE_BODY_NAMES)}


@dataclass(frozen=True)
class SkeletonConfig:
    detector: str = "auto"  # kyara.detect backend ("auto", "kyara", "mediapipe") or "none"
    detector_threshold: float = 0.8  # every joint a rig needs at least this confident (see the module doc)
    inside_margin: float = 0.03  # joints may lie this share of the box diagonal outside the mask


@dataclass
class Skeleton2D:
    """Joints of the drawn character."""

    keypoints: np.ndarray  # [18, 3] float64: COCO-18 x, y (drawing pixels), confidence
    pelvis: np.ndarray  # [2] float64 pixels: centre of the pelvis (VRM hips)
    source: str  # SOURCES
    reason: str = ""  # why this source was used
    notes: list[str] = field(default_factory=list)

    def joint(self, name: str) -> np.ndarray:
        return self.keypoints[J[name], :2]


class NoMatch(Exception):
    """The medial axis could not be matched to a humanoid (the box template is used instead)."""


def check_humanoid(g: AxisGraph) -> None:
    """``ValueError`` for a figure that is not a humanoid (module doc): three or more long branches
    reaching out on one side above the legs (arms), more than :data:`MAX_LIMBS` long branches, or a
    figure wider than tall standing on three or more legs."""
    ends, lengths = limb_ends(g)
    keep = lengths >= LIMB_LENGTH * g.height
    long_ = ends[keep]
    _, walks = branches(g, long_)
    root = np.array([g.xy[w[-1]] for w in walks]).reshape(-1, 2)  # where each branch leaves the rest
    centre = float(np.median(np.nonzero(g.mask)[1])) if g.mask is not None else 0.5 * (g.box[0] + g.box[2])
    lateral = (g.xy[long_, 0] - centre) / g.height
    root_v = (root[:, 1] - g.box[1]) / g.height
    v = (g.xy[long_, 1] - g.box[1]) / g.height
    # arms reach out sideways from the upper torso (not from the head: pigtails; not from a skirt: its hem)
    for side, out in (("left", lateral < -0.15), ("right", lateral > 0.15)):
        arms = int((out & (root_v > 0.1) & (root_v < 0.5) & (v < 0.75)).sum())
        if arms >= 3:
            raise ValueError(f"the figure has {arms} arms on its {side} side, expected a humanoid with two arms: "
                             "kyara rigs humanoid drawings only")
    if len(long_) > MAX_LIMBS:
        raise ValueError(f"the figure has {len(long_)} limbs, expected a humanoid (a head, two arms and two legs): "
                         "kyara rigs humanoid drawings only")
    standing = int((v > 0.7).sum())
    if standing >= 3 and g.width > 1.2 * g.height:
        raise ValueError(f"the figure stands on {standing} legs and is wider than tall: it looks like a four-legged "
                         "animal, expected a humanoid standing on two legs")


# -- medial axis -> joints ----------------------------------------------------------------------
# where a standing figure's head, hands and feet are in its box (u right, v down), and how much each
# axis counts: hands may be raised or lowered, feet may stand apart
ROLES = ("head", "right_hand", "left_hand", "right_foot", "left_foot")
ROLE_AT = np.array([[0.5, 0.0], [0.0, 0.45], [1.0, 0.45], [0.35, 1.0], [0.65, 1.0]])
ROLE_WEIGHT = np.array([[1.0, 1.0], [1.0, 0.25], [1.0, 0.25], [0.3, 1.0], [0.3, 1.0]])
MEDIAL_CONFIDENCE = 0.6
SHOULDER_INSET = 0.5  # the shoulder joint: this many arm widths inside where the arm meets the torso
WRIST_BACK = 0.2  # the wrist: this share of the arm's axis back from the hand's end
ELBOW_AT = 0.47  # the elbow: this share of the way from the shoulder to the wrist along the axis
ANKLE_BACK = 0.12  # the ankle: this share of the leg's axis back from the foot's end
NOSE_RATIO = 0.45  # the nose: this share of the way from the head's top down to the shoulder line
GOWN = 0.8  # legs parting this low in the figure's box (share of its height): a gown, no legs shown
GOWN_WIDTH = 0.2  # ... or "legs" wider than this share of the figure's height: the halves of a gown
HIP_BELOW_WAIST = 0.16  # hips hidden by a garment: this share of the way from the waist down to the ankles
HEM_LIMIT = 0.3  # legs parting lower than this share of that way: they part at a garment's hem
SKIRT_FLARE = 1.3  # a figure this much wider just above where its legs part than at its waist wears a skirt


def medial_axis_joints(g: AxisGraph) -> tuple[np.ndarray, np.ndarray]:
    """COCO-18 joints ``[18, 3]`` and the pelvis ``[2]`` (pixels) from the axis graph (module doc,
    step 3); :class:`NoMatch` when its ends cannot be matched to a standing figure."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse.csgraph import dijkstra

    ends, lengths = limb_ends(g)
    ends = ends[lengths >= 0.04 * g.height]
    # the head's top may fork (pigtails, hair tufts): the axis' highest node near the middle is a candidate too
    uv_all = (g.xy - np.array(g.box[:2])) / np.array([g.width, g.height])
    comp = components(g)
    central = np.flatnonzero((np.abs(uv_all[:, 0] - 0.5) < 0.25) & (comp == comp[ends[0]] if len(ends) else True))
    if len(central):
        top = int(central[np.argmin(uv_all[central, 1])])
        if top not in ends:
            ends = np.r_[ends, top]
    if len(ends) < 5:
        raise NoMatch(f"the medial axis has {len(ends)} end points, expected head, hands and feet (5)")
    uv = (g.xy[ends] - np.array(g.box[:2])) / np.array([g.width, g.height])
    cost = (((uv[None, :, :] - ROLE_AT[:, None, :]) * ROLE_WEIGHT[:, None, :]) ** 2).sum(-1)  # [5, E]
    rows, cols = linear_sum_assignment(cost)
    role = {ROLES[r]: int(ends[c]) for r, c in zip(rows, cols)}
    for a, b in (("right_hand", "left_hand"), ("right_foot", "left_foot")):  # image left = the character's right
        if g.xy[role[a], 0] > g.xy[role[b], 0]:
            role[a], role[b] = role[b], role[a]
    head_v = (g.xy[role["head"], 1] - g.box[1]) / g.height
    foot_v = (np.array([g.xy[role["right_foot"], 1], g.xy[role["left_foot"], 1]]) - g.box[1]) / g.height
    if head_v > 0.3 or foot_v.min() < 0.6:
        raise NoMatch("the medial axis' ends are not where a standing figure's head and feet are")
    _, pred = dijkstra(g.graph, directed=False, indices=role["head"], return_predecessors=True)
    paths = {k: path_to(pred, v) for k, v in role.items() if k != "head"}
    if any(p[0] != role["head"] for p in paths.values()):
        raise NoMatch("the medial axis is in pieces, expected one connected figure")
    rf, lf = paths["right_foot"], paths["left_foot"]
    nc = common_prefix(rf, lf)
    trunk = rf[:nc]  # head end -> crotch
    if nc < 3:
        raise NoMatch("the paths to the feet part at the head, expected them to part at the crotch")
    crotch = trunk[-1]
    kp = np.zeros((18, 3))
    conf = MEDIAL_CONFIDENCE
    # arms: where each leaves the trunk; the shoulder where the arm becomes as thin as itself
    for side in ("right", "left"):
        arm = paths[f"{side}_hand"]
        j = common_prefix(arm, trunk)
        if j < 2:
            raise NoMatch(f"the {side} arm leaves the axis at the head, expected it to join the torso")
        limb = arm[j - 1:]
        arc = arc_lengths(g, limb)
        shoulder_s, shoulder, _ = limb_root(g, limb, arc, 0.45, SHOULDER_INSET)
        wrist_s = arc[-1] - WRIST_BACK * (arc[-1] - shoulder_s)
        kp[J[f"{side}_shoulder"]] = (*shoulder, conf)
        kp[J[f"{side}_wrist"]] = (*point_at(g, limb, wrist_s), conf)
        kp[J[f"{side}_elbow"]] = (*point_at(g, limb, shoulder_s + ELBOW_AT * (wrist_s - shoulder_s)), conf)
    # legs: from the crotch
    legs = {}
    for side in ("right", "left"):
        leg = paths[f"{side}_foot"][nc - 1:]
        arc = arc_lengths(g, leg)
        hip_s, hip, own = limb_root(g, leg, arc, 0.3, 0.6, across=(1.0, 0.0))  # legs: across the body
        ankle_s = arc[-1] - ANKLE_BACK * (arc[-1] - hip_s)
        legs[side] = (leg, arc, hip_s, hip, point_at(g, leg, ankle_s), ankle_s, own)
    # a skirt, a dress, a coat or shorts: the legs part at a hem, below the hips; the hips then go
    # HIP_BELOW_WAIST of the way from the waist (the torso's narrowest row) down to the ankles, the knees
    # half-way further. A gown to the floor shows no legs at all (its axis parts into the hem's corners):
    # the legs stand under it a quarter of the waist's width either side of the middle
    waist = waist_of(g, kp, trunk[-1])
    fork = g.xy[trunk[-1]]
    thick = min(legs["right"][6], legs["left"][6]) > GOWN_WIDTH * g.height  # "legs" as wide as a dress
    gown = thick or (fork[1] - g.box[1]) / g.height > GOWN
    ankle_y = 0.5 * (legs["right"][4][1] + legs["left"][4][1])
    if gown:
        ankle_y = g.box[3] - 0.05 * g.height
    hip_y = None
    if waist is not None:
        wy = waist[0]
        limb_hips = 0.5 * (legs["right"][3][1] + legs["left"][3][1])
        # a skirt, a coat, shorts: the legs part at a hem, the hips are where a standing figure has them
        if gown or waist[2] or limb_hips > wy + HEM_LIMIT * (ankle_y - wy):
            hip_y = min(wy + HIP_BELOW_WAIST * (ankle_y - wy), float(fork[1]) if not gown else np.inf)
    elif gown:
        shoulder_y = 0.5 * (kp[J["right_shoulder"], 1] + kp[J["left_shoulder"], 1])
        hip_y = shoulder_y + 0.35 * (g.box[3] - shoulder_y)
    for k, side in enumerate(("right", "left")):
        leg, arc, hip_s, hip, ankle, ankle_s, _ = legs[side]
        if gown:
            width = waist[1] if waist is not None else row_width(g.mask, fork[0], hip_y)
            x = fork[0] + (-1.0 if side == "right" else 1.0) * 0.25 * max(width, 0.05 * g.width)
            hip, ankle = np.array([x, hip_y]), np.array([x, ankle_y])
            knee = 0.5 * (hip + ankle)
        elif hip_y is not None:
            hip = np.array([hip[0], hip_y])
            knee_y = 0.5 * (hip[1] + ankle[1])
            below = np.flatnonzero(g.xy[leg, 1] >= knee_y)
            knee = g.xy[leg[below[0]]] if len(below) and g.xy[leg[0], 1] < knee_y else 0.5 * (hip + ankle)
        else:
            knee = point_at(g, leg, 0.5 * (hip_s + ankle_s))
        kp[J[f"{side}_hip"]] = (*hip, conf)
        kp[J[f"{side}_knee"]] = (*knee, conf)
        kp[J[f"{side}_ankle"]] = (*ankle, conf)
    # head: the nose NOSE_RATIO of the way from the head's top down to the shoulder line, on the axis
    kp[J["neck"]] = (*(0.5 * (kp[J["right_shoulder"], :2] + kp[J["left_shoulder"], :2])), conf)
    top = trunk[:max(2, min(common_prefix(paths["right_hand"], trunk), common_prefix(paths["left_hand"], trunk)))]
    head_x = float(g.xy[top[0], 0])
    w = max(2, int(round(0.02 * g.width)))
    col = g.mask[:, int(max(0, head_x - w)):int(head_x + w + 1)].any(axis=1)
    crown = float(np.flatnonzero(col)[0]) if col.any() else float(g.xy[top[0], 1])
    nose_y = crown + NOSE_RATIO * (kp[J["neck"], 1] - crown)
    near = top[int(np.argmin(np.abs(g.xy[top, 1] - nose_y)))]
    nose = np.array([float(g.xy[near, 0]), nose_y])
    radius = min(0.5 * row_width(g.mask, nose[0], nose[1]), nose_y - crown)
    face_points(kp, nose, max(radius, 1.0), conf)
    pelvis = 0.5 * (kp[J["right_hip"], :2] + kp[J["left_hip"], :2])
    return kp, pelvis


def waist_of(g: AxisGraph, kp: np.ndarray, crotch: int) -> tuple[float, float, bool] | None:
    """(y, width, flared) of the figure's waist, pixels: its narrowest row between the shoulders
    and where the legs part (from 30 % of the way down); ``flared`` when the figure is
    :data:`SKIRT_FLARE` x wider just above where the legs part (a skirt, a dress). None when the
    torso is too short to look at."""
    shoulder_y = 0.5 * (kp[J["right_shoulder"], 1] + kp[J["left_shoulder"], 1])
    fork = g.xy[crotch]
    span = fork[1] - shoulder_y
    if span <= 4:
        return None
    ys = np.linspace(shoulder_y + 0.3 * span, fork[1] - 0.04 * g.height, 24)
    if ys[-1] <= ys[0]:
        return None
    widths = np.array([row_width(g.mask, fork[0], y) for y in ys])
    ok = widths > 0
    if ok.sum() < 4:
        return None
    k = int(np.argmin(np.where(ok, widths, np.inf)))
    flared = float(widths[ok][-1]) >= SKIRT_FLARE * float(widths[k]) and k < len(ys) - 2
    return float(ys[k]), float(widths[k]), bool(flared)


def limb_root(g: AxisGraph, limb: list[int], arc: np.ndarray, most: float, inset: float, across=None
              ) -> tuple[float, np.ndarray, float]:
    """The limb's root joint (shoulder, hip) on ``limb`` (the axis path from where it leaves the
    torso's axis to its end): walking in from the limb's end, where the figure's width across the path
    first grows past 1.6 x the limb's own width (the chord, along ``across`` or across the limb's
    overall direction, reaches into the torso); from there
    ``inset`` limb widths further in, against the limb's direction. At most ``most`` of the way out
    from the junction. Returns ``(arc length, position [2], the limb's own width)``."""
    wd = chord_widths(g, limb, across)
    own = float(np.median(wd[len(wd) // 2:]))
    wide = np.flatnonzero((wd > 1.6 * own) & (arc <= most * arc[-1]))  # not a hand or foot wider than the limb
    s = float(arc[wide[-1]]) if len(wide) else 0.0
    p = point_at(g, limb, s)
    d = g.xy[limb[-1]] - p
    d /= max(float(np.linalg.norm(d)), 1e-9)
    return s, p - inset * own * d, own


def face_points(kp: np.ndarray, nose: np.ndarray, radius: float, conf: float) -> None:
    """Nose, eyes and ears of a front-facing head ``radius`` pixels wide (half) with its nose at ``nose``."""
    x, y = float(nose[0]), float(nose[1])
    r = float(radius)
    kp[J["nose"]] = (x, y, conf)
    kp[J["right_eye"]] = (x - 0.4 * r, y - 0.3 * r, conf)
    kp[J["left_eye"]] = (x + 0.4 * r, y - 0.3 * r, conf)
    kp[J["right_ear"]] = (x - 0.9 * r, y - 0.15 * r, conf)
    kp[J["left_ear"]] = (x + 0.9 * r, y - 0.15 * r, conf)


def template_joints(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounding-box template (:func:`kyara.detect.drawings.template_baseline`) -> (joints, pelvis)."""
    from kyara.detect.drawings import template_baseline

    kp = template_baseline(mask)
    kp[:, 2] = 0.3
    return kp, 0.5 * (kp[J["right_hip"], :2] + kp[J["left_hip"], :2])


# -- the detector -------------------------------------------------------------------------------
def detector_joints(rgb: np.ndarray, mask: np.ndarray, config: SkeletonConfig) -> tuple[np.ndarray | None, str]:
    """(COCO-18 joints, reason) from :func:`kyara.detect.detect` when it is confident, else (None, why not)."""
    from kyara.errors import KyaraError

    if config.detector == "none":
        return None, "the detector is switched off"
    from kyara.detect import detect

    try:
        det = detect(rgb, backend=config.detector)
    except (FileNotFoundError, KyaraError) as exc:  # no weights, or the backend is not installed
        return None, f"the detector is not available ({' '.join(str(exc).split())[:160]})"
    kp = np.asarray(det.keypoints, dtype=np.float64)
    need = list(CORE_INDEX)
    low = [OPENPOSE_BODY_NAMES[i] for i in need if kp[i, 2] < config.detector_threshold]
    if not (kp[list(HEAD_INDEX), 2] >= config.detector_threshold).any():
        low.insert(0, "head")
    if low:
        return None, (f"the {det.backend} detector is not confident (under {config.detector_threshold:g}: "
                      f"{', '.join(low[:4])}{' ...' if len(low) > 4 else ''})")
    from scipy.ndimage import distance_transform_edt

    from kyara.detect.metrics import box_diagonal

    outside = distance_transform_edt(~mask)
    margin = config.inside_margin * box_diagonal(mask)
    h, w = mask.shape
    xi = np.clip(np.rint(kp[need, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.rint(kp[need, 1]).astype(int), 0, h - 1)
    off = outside[yi, xi] > margin
    if off.any():
        names = [OPENPOSE_BODY_NAMES[need[i]] for i in np.flatnonzero(off)]
        return None, f"the {det.backend} detector put {', '.join(names[:3])} outside the figure"
    kp[:, 2] = np.where(kp[:, 2] >= config.detector_threshold, kp[:, 2], 0.0)
    return kp, f"the {det.backend} detector is confident (every joint >= {config.detector_threshold:g})"


# -- all together -------------------------------------------------------------------------------
def _fill(kp: np.ndarray, pelvis: np.ndarray | None, fallback: np.ndarray, fallback_pelvis: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Missing rig joints of ``kp`` taken from ``fallback``."""
    out = np.array(kp, dtype=np.float64)
    filled = missing_core(out)
    for name in filled:
        if name == "nose":
            out[list(HEAD_INDEX)] = np.where(out[list(HEAD_INDEX), 2:3] > 0, out[list(HEAD_INDEX)],
                                             fallback[list(HEAD_INDEX)])
        else:
            out[J[name]] = fallback[J[name]]
    if pelvis is None:
        pelvis = 0.5 * (out[J["right_hip"], :2] + out[J["left_hip"], :2]) if out[[J["right_hip"], J["left_hip"]], 2].min() > 0 \
            else fallback_pelvis
    return out, np.asarray(pelvis, dtype=np.float64), filled


def automatic_joints(mask: np.ndarray, graph: AxisGraph | None = None) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(joints, pelvis, source, reason) from the medial axis, else the box template."""
    g = graph if graph is not None else axis_graph(mask)
    try:
        kp, pelvis = medial_axis_joints(g)
        return kp, pelvis, "medial axis", "the mask's medial axis matched a standing humanoid"
    except NoMatch as exc:
        kp, pelvis = template_joints(mask)
        return kp, pelvis, "box template", f"{exc}: joints from the bounding-box template"


def estimate_skeleton(rgb: np.ndarray, mask: np.ndarray, joints=None, config: SkeletonConfig | None = None,
                      pelvis=None) -> Skeleton2D:
    """The character's joints (module doc). ``joints``: a ``--joints`` file path or a COCO-18 array
    ``[18, 3]`` in the drawing's pixels (``pelvis`` ``[2]`` optional with it)."""
    import os

    cfg = config or SkeletonConfig()
    h, w = mask.shape
    notes: list[str] = []
    if joints is not None:
        if isinstance(joints, (str, os.PathLike)):
            from kyara.drawing.joints_io import read_joints

            kp, pelvis = read_joints(joints, (w, h))
        else:
            kp = np.asarray(joints, dtype=np.float64)
            if kp.shape != (18, 3) or not np.isfinite(kp).all():
                raise ValueError(f"joints have shape {kp.shape}, expected [18, 3] finite COCO-18 (x, y, confidence)")
        g = axis_graph(mask)
        auto, auto_pelvis, src, _ = automatic_joints(mask, g)
        kp, pelvis, filled = _fill(kp, pelvis, auto, auto_pelvis)
        if filled:
            notes.append(f"joints not in the file, from the {src}: {', '.join(filled)}")
        return Skeleton2D(kp, pelvis, "joints file", "joints given", notes)
    g = axis_graph(mask)
    check_humanoid(g)
    det, why = detector_joints(rgb, mask, cfg)
    if det is not None:
        auto, auto_pelvis, _, _ = automatic_joints(mask, g)
        kp, pv, _ = _fill(det, None, auto, auto_pelvis)
        return Skeleton2D(kp, pv, "detector", why, notes)
    kp, pv, src, reason = automatic_joints(mask, g)
    return Skeleton2D(kp, pv, src, f"{why}; {reason}", notes)
