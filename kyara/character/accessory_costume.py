"""Costume accessories: the maid's headdress (a frilled lace band worn across the head).

Rigid on ``head`` like every accessory of :mod:`kyara.character.accessories`; it sits on the hair
cap's enclosing ellipsoid ``(c, r)`` (:func:`kyara.character.hair.cap_ellipsoid`), so it never cuts
into the hair or the head. Sizes in head heights ``h`` (metres).
"""

from __future__ import annotations

import numpy as np

HEADDRESS_LOBES = 9  # frill lobes along the band
HEADDRESS_TILT = 0.45  # radians the band leans forward from the ear-to-ear plane over the crown
HEADDRESS_SPAN = 1.15  # radians either side of the top the band reaches (towards the ears)


def _arc(c: np.ndarray, r: np.ndarray, s: np.ndarray, lift: float):
    """Points on the ellipsoid ``c, r`` along the band (``s`` radians from the top) lifted ``lift``
    metres along the normal, with the normals ``[K, 3]`` and the band's tangents ``[K, 3]``."""
    d = np.stack([np.sin(s), np.cos(s) * np.cos(HEADDRESS_TILT), np.cos(s) * np.sin(HEADDRESS_TILT)], axis=1)
    p = c + r * d
    n = d / r
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    t = np.gradient(p, axis=0)
    t -= np.sum(t * n, axis=1, keepdims=True) * n
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return p + lift * n, n, t


def maid_headdress(c: np.ndarray, r: np.ndarray, h: float, colour) -> list:
    """The headdress as accessory pieces ``[(name, vertices, faces, colour, None)]``: a band over the
    head from ear to ear and a row of upright frill lobes on it (closed shells)."""
    from kyara.character.hair import ellipsoid_mesh
    from kyara.character.meshing import combine, tube

    band_r = 0.014 * h
    pts, n, _t = _arc(c, r, np.linspace(-HEADDRESS_SPAN, HEADDRESS_SPAN, 17), band_r + 0.004 * h)
    meshes = [tube(pts, band_r, 8, 0.6, n[len(n) // 2])]
    lobe = np.array([0.62 * HEADDRESS_SPAN * 2 / HEADDRESS_LOBES * 1.0, 0.085, 0.014])  # along, up, thick
    s = np.linspace(-0.8 * HEADDRESS_SPAN, 0.8 * HEADDRESS_SPAN, HEADDRESS_LOBES)
    up_h = 0.085 * h
    cen, nn, tt = _arc(c, r, s, up_h + 0.006 * h)
    for k in range(HEADDRESS_LOBES):
        along = float(np.linalg.norm(r)) * lobe[0] * 0.6
        axes = np.stack([tt[k], nn[k], np.cross(tt[k], nn[k])])
        meshes.append(ellipsoid_mesh(cen[k], axes, [along, up_h, lobe[2] * h], 10, 6))
    v, f = combine(meshes)
    return [("maid_headdress", v, f, colour, None)]
