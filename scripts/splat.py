"""Debug view: orthographic point splat of a mesh with normal shading (no GL needed)."""
import sys
import numpy as np
import trimesh
from PIL import Image


def splat(m, az=0.0, size=512, center=None, extent=None):
    v = m.vertices.copy()
    n = m.vertex_normals.copy()
    a = np.deg2rad(az)
    R = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    v = v @ R.T
    n = n @ R.T
    if center is None:
        center = (v.min(0) + v.max(0)) / 2
    if extent is None:
        extent = (v.max(0) - v.min(0)).max() * 1.05
    px = ((v[:, 0] - center[0]) / extent + 0.5) * size
    py = (0.5 - (v[:, 1] - center[1]) / extent) * size
    img = np.zeros((size, size, 3), np.uint8)
    zb = np.full((size, size), -np.inf)
    order = np.argsort(v[:, 2])
    xi = np.clip(px.astype(int), 0, size - 1)
    yi = np.clip(py.astype(int), 0, size - 1)
    shade = np.clip(0.3 + 0.7 * np.clip(n @ np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8]), 0, 1), 0, 1)
    col = (np.stack([shade * 240, shade * 200, shade * 180], 1)).astype(np.uint8)
    for dx in (0, 1):
        for dy in (0, 1):
            img[np.clip(yi[order] + dy, 0, size - 1), np.clip(xi[order] + dx, 0, size - 1)] = col[order]
    return img


if __name__ == "__main__":
    m = trimesh.load(sys.argv[1], process=False)
    out = sys.argv[2]
    imgs = [splat(m, az) for az in (0, 90, 180)]
    Image.fromarray(np.concatenate(imgs, 1)).save(out)
