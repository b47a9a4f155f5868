"""Named surface points on the head: nose tip, eyes, ears and the 70 OpenPose face landmarks.

Landmarks are vertex indices of the rest mesh, so they follow any pose through skinning. The
template is the iBUG-68 layout (+ 2 pupils, OpenPose order) drawn on an anime face: large low
eyes, small nose and mouth. Template coordinates: x in head widths (character's left = +x),
y in head heights below the crown.
"""

from __future__ import annotations

import numpy as np

from kyara.body.layout import Layout

HEAD_PART = 0


def face_template(layout: Layout) -> np.ndarray:
    """``[70, 2]`` target (x, y) positions in metres of the face landmarks, OpenPose order."""
    d = layout.dims
    P = layout.params
    W, h, crown = d["W"], d["h"], d["crown"]
    es = P.eye_size * h
    ey = d["eye_y"]
    ex = 0.21 * W
    chin = d["chin"]
    pts: list[tuple[float, float]] = []
    # 0-16 jaw, subject's right (-x) to left (+x)
    jaw_top = ey - 0.1 * h
    for i in range(17):
        s = (i - 8) / 8.0
        x = 0.43 * W * np.sign(s) * abs(s) ** 0.8
        y = chin + (jaw_top - chin) * abs(s) ** 1.5
        pts.append((x, y))
    # 17-21 right brow (outer -> inner), 22-26 left brow (inner -> outer)
    by = ey + 0.75 * es
    for i in range(5):
        t = i / 4.0
        pts.append((-(ex + 0.55 * es) + t * 0.85 * es, by + 0.04 * h * np.sin(np.pi * t)))
    for i in range(5):
        t = i / 4.0
        pts.append(((ex - 0.3 * es) + t * 0.85 * es, by + 0.04 * h * np.sin(np.pi * (1 - t))))
    # 27-30 nose bridge, 31-35 nose bottom
    nose_y = crown - 0.74 * h
    for i in range(4):
        pts.append((0.0, ey + (nose_y - ey) * i / 3.0))
    for i in range(5):
        pts.append(((i - 2) * 0.03 * W, nose_y - 0.03 * h + 0.01 * h * (1 - abs(i - 2) / 2)))
    # 36-41 right eye, 42-47 left eye: the outline of the drawn anime eye (kyara.character.face_eyes,
    # units of the socket height es from the socket centre): corners at 0.5 es to either side
    # (outer 0.14 es, inner 0.11 es above the centre), the upper lash line at 1/6 of the way in from
    # the corners, the white's lower edge below them. Screen order: left corner, over the top,
    # right corner, back along the bottom. (x offset in es towards the outer corner, y in es.)
    outer, upper_out, upper_in, inner, lower_in, lower_out = (
        (0.5, 0.14), (1 / 6, 0.4378), (-1 / 6, 0.4178), (-0.5, 0.11), (-1 / 6, -0.7820), (1 / 6, -0.7820))

    def eye(sx: float, order) -> None:
        for dx, v in order:
            pts.append((sx * ex + sx * dx * es, ey + v * es))

    eye(-1.0, [outer, upper_out, upper_in, inner, lower_in, lower_out])  # right eye, outer corner first
    eye(1.0, [inner, upper_in, upper_out, outer, lower_out, lower_in])  # left eye, inner corner first
    # 48-59 outer lips, 60-67 inner lips (right corner first, upper lip then lower)
    my = crown - 0.86 * h
    mw, mh = 0.1 * W, 0.025 * h
    for i in range(12):
        a = np.pi - 2 * np.pi * i / 12.0
        pts.append((mw * np.cos(a), my + mh * np.sin(a)))
    for i in range(8):
        a = np.pi - 2 * np.pi * i / 8.0
        pts.append((0.7 * mw * np.cos(a), my + 0.5 * mh * np.sin(a)))
    # 68 right pupil, 69 left pupil (the drawn pupil's centre, 0.12 es below the socket centre)
    pts.append((-ex, ey - 0.12 * es))
    pts.append((ex, ey - 0.12 * es))
    return np.asarray(pts)


def face_anchors(vertices: np.ndarray, normals: np.ndarray, parts: np.ndarray, layout: Layout,
                 faces: np.ndarray) -> tuple[dict[str, int], tuple[np.ndarray, np.ndarray]]:
    """Vertex indices of the nose tip, eyes and ears, and the 70 face landmarks as
    ``(triangle ids [70], barycentric [70, 3])``: where a ray from the front (along -z) through the
    template point first hits the head, so they follow any pose through skinning."""
    d = layout.dims
    head = np.flatnonzero((parts == HEAD_PART) & (vertices[:, 1] > d["chin"] - 0.01 * d["h"]))
    hv = vertices[head]
    in_head = np.zeros(len(vertices), dtype=bool)
    in_head[head] = True
    # the face only: in front of the neck (whose vertices also carry the head part label)
    neck_front = layout.joint("neck")[2] + d["neck_r"] + 0.02 * d["h"]
    in_head &= vertices[:, 2] > neck_front
    tri_index = np.flatnonzero(np.all(in_head[faces], axis=1)) if faces is not None else None
    tri = faces[tri_index] if faces is not None else None

    def front_hit(x: float, y: float) -> tuple[int, np.ndarray] | None:
        """(triangle index into ``faces``, barycentric [3]) of the first hit from the front."""
        if tri is None:
            return None
        a, b, c = (vertices[tri[:, i]].astype(np.float64) for i in range(3))
        det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
        ok = np.abs(det) > 1e-14
        det = np.where(ok, det, 1.0)
        l1 = ((b[:, 1] - c[:, 1]) * (x - c[:, 0]) + (c[:, 0] - b[:, 0]) * (y - c[:, 1])) / det
        l2 = ((c[:, 1] - a[:, 1]) * (x - c[:, 0]) + (a[:, 0] - c[:, 0]) * (y - c[:, 1])) / det
        l3 = 1.0 - l1 - l2
        hit = ok & (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
        if not np.any(hit):
            return None
        z = l1 * a[:, 2] + l2 * b[:, 2] + l3 * c[:, 2]
        k = np.flatnonzero(hit)[np.argmax(z[hit])]
        return int(tri_index[k]), np.array([l1[k], l2[k], l3[k]])

    def _facing(k: int) -> float:
        a, b, c = vertices[faces[k]].astype(np.float64)
        n = np.cross(b - a, c - a)
        return float(n[2] / max(np.linalg.norm(n), 1e-20))

    def nearest_front(x: float, y: float) -> int:
        found = front_hit(x, y)
        if found is not None:
            k, bary = found
            return int(faces[k][np.argmax(bary)])
        dist = np.hypot(hv[:, 0] - x, hv[:, 1] - y) - 1e-3 * hv[:, 2]
        return int(head[np.argmin(dist)])

    tris, barys = [], []
    for x, y in face_template(layout):
        found = front_hit(x, y)
        # a point on the silhouette (the surface nearly parallel to the ray) is unstable: move it
        # towards the centre line until the surface there faces the front
        for _ in range(12):
            if found is not None and _facing(found[0]) > 0.35:
                break
            x *= 0.95
            found = front_hit(x, y)
        if found is None:  # no hit (template point off the head): snap to the nearest vertex
            v = nearest_front(x, y)
            k = int(np.flatnonzero(np.any(faces == v, axis=1))[0])
            found = (k, (faces[k] == v).astype(np.float64))
        tris.append(found[0])
        barys.append(found[1])
    landmarks = (np.array(tris, dtype=np.int64), np.array(barys))
    nose_y = d["crown"] - 0.74 * d["h"]
    band = np.abs(hv[:, 1] - nose_y) < 0.05 * d["h"]
    band &= np.abs(hv[:, 0]) < 0.05 * d["W"]
    nose = int(head[np.flatnonzero(band)[np.argmax(hv[band, 2])]])
    ex = 0.21 * d["W"]
    anchors = {"nose": nose, "leftEye": nearest_front(ex, d["eye_y"]), "rightEye": nearest_front(-ex, d["eye_y"])}
    ear_band = np.abs(hv[:, 1] - (d["eye_y"] - 0.02 * d["h"])) < 0.06 * d["h"]
    for name, sx in (("leftEar", 1.0), ("rightEar", -1.0)):
        cand = np.flatnonzero(ear_band)
        anchors[name] = int(head[cand[np.argmax(sx * hv[cand, 0])]])
    return anchors, landmarks
