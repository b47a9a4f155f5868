"""Real-world augmentation of kyara's renders for the detector (pure numpy/OpenCV, seeded).

One affine warp (crop around the character, scale, rotation) maps a dataset sample to the
network's input square; the clean RGBA render is composited over a random background (flat,
gradient, paper, photo texture from scikit-image's bundled images, clutter), drawings keep
their paper; then colour/contrast jitter, grey, blur, noise and JPEG. Labels (mask, UDP,
keypoints) follow the same warp exactly (UDP by nearest neighbour: it is a lookup, never a blend).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# scikit-image's bundled pictures with no person in them (astronaut and camera are left out)
TEXTURES = ("brick", "chelsea", "clock", "coffee", "coins", "grass", "gravel", "moon", "page", "text",
            "rocket", "colorwheel", "hubble_deep_field", "immunohistochemistry", "retina")


@lru_cache(maxsize=1)
def texture_bank() -> tuple[np.ndarray, ...]:
    """RGB uint8 textures (at most 512 px a side), in :data:`TEXTURES` order; missing ones skipped."""
    import cv2
    import skimage.data as data

    out = []
    for name in TEXTURES:
        try:
            im = np.asarray(getattr(data, name)())
        except Exception:  # an image a given scikit-image build lacks
            continue
        if im.dtype == bool:
            im = im.astype(np.uint8) * 255
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        im = im[..., :3]
        s = 512.0 / max(im.shape[:2])
        if s < 1:
            im = cv2.resize(im, (round(im.shape[1] * s), round(im.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(im))
    return tuple(out)


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random RGB uint8 [size, size, 3] background."""
    import cv2

    kind = rng.choice(5, p=[0.2, 0.15, 0.2, 0.3, 0.15])
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    if kind == 0:  # flat
        return np.broadcast_to(c1.astype(np.uint8), (size, size, 3)).copy()
    if kind == 1:  # linear gradient
        a = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1)
        t = np.clip((np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5)) + 0.5, 0, 1)[..., None]
        return (c1 * (1 - t) + c2 * t).astype(np.uint8)
    if kind == 2:  # paper: a light tint with fine grain and a few smudges
        tint = rng.uniform(200, 255, 3)
        grain = rng.normal(0, rng.uniform(2, 10), (size, size, 1))
        img = np.clip(tint + cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.5, 2.0))[..., None], 0, 255)
        return img.astype(np.uint8)
    if kind == 3:  # a photo texture, cropped, scaled and recoloured
        bank = texture_bank()
        tex = bank[int(rng.integers(len(bank)))]
        h, w = tex.shape[:2]
        side = int(rng.integers(min(h, w) // 3, min(h, w) + 1))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        img = cv2.resize(tex[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        gain = rng.uniform(0.6, 1.3, 3)
        return np.clip(img * gain, 0, 255).astype(np.uint8)
    img = np.broadcast_to(c1.astype(np.uint8), (size, size, 3)).copy()  # clutter
    for _ in range(int(rng.integers(3, 12))):
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        p = tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2))
        r = tuple(int(v) for v in rng.integers(2, size // 3, 2))
        if rng.random() < 0.5:
            cv2.ellipse(img, p, r, float(rng.uniform(0, 180)), 0, 360, col, -1)
        else:
            q = tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2))
            cv2.line(img, p, q, col, int(rng.integers(1, 6)))
    return img


def crop_affine(bbox: tuple[float, float, float, float], out: int, margin: float, shift: tuple[float, float],
                angle_deg: float) -> np.ndarray:
    """2x3 matrix mapping source pixels to an ``out`` square showing ``bbox`` = (x0, y0, x1, y1)
    enlarged by ``margin`` (side = max(w, h) * margin), its centre moved by ``shift`` (fractions of
    the side) and rotated by ``angle_deg`` about the centre."""
    x0, y0, x1, y1 = bbox
    side = max(x1 - x0, y1 - y0, 1.0) * margin
    cx, cy = (x0 + x1) / 2 + shift[0] * side, (y0 + y1) / 2 + shift[1] * side
    s = out / side
    a = np.deg2rad(angle_deg)
    ca, sa = np.cos(a) * s, np.sin(a) * s
    # x' = R s (x - c) + out/2, pixel centres kept: (out - 1) / 2 is the centre of the output
    oc = (out - 1) / 2.0
    return np.array([[ca, -sa, oc - ca * cx + sa * cy], [sa, ca, oc - sa * cx - ca * cy]], dtype=np.float64)


def warp_image(image: np.ndarray, m: np.ndarray, out: int, border: tuple | None = None,
               interpolation: int | None = None) -> np.ndarray:
    """``cv2.warpAffine`` into an ``out`` square that first shrinks the image by area averaging when
    ``m`` scales it below 1/2 (a bilinear warp alone would alias). ``border``: a constant colour,
    or ``None`` to replicate the edge."""
    import cv2

    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    img, mm = image, np.asarray(m, dtype=np.float64)
    if scale < 0.5:
        f = scale * 1.5
        h, w = image.shape[:2]
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        img = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        # a pixel centre x of the small image is (x + 0.5) * w / nw - 0.5 in the original
        sx, sy = w / nw, h / nh
        pre = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        mm = (np.vstack([mm, [0, 0, 1]]) @ pre)[:2]
    flags = cv2.INTER_LINEAR if interpolation is None else interpolation
    if border is None:
        return cv2.warpAffine(img, mm, (out, out), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(img, mm, (out, out), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def warp_sample(image: np.ndarray, mask: np.ndarray, udp: np.ndarray | None, kp: np.ndarray, m: np.ndarray,
                out: int, paper: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Apply the 2x3 ``m`` to the image (RGBA: transparent outside; RGB drawing: paper colour
    replicated), the mask (bilinear, float), the UDP (nearest) and the keypoints [18, 3]."""
    import cv2

    img = warp_image(image, m, out, border=None if paper else (0, 0, 0, 0))
    msk = warp_image(mask.astype(np.float32) / 255.0, m, out, border=0)
    u = None
    if udp is not None:
        u = cv2.warpAffine(udp, m, (out, out), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    k = kp.astype(np.float64).copy()
    k[:, :2] = k[:, :2] @ m[:, :2].T + m[:, 2]
    inside = (k[:, 0] >= 0) & (k[:, 0] <= out - 1) & (k[:, 1] >= 0) & (k[:, 1] <= out - 1)
    k[:, 2] = np.where(inside, k[:, 2], 0)
    return img, msk, u, k


# OpenPose COCO-18: each joint's mirror image (right <-> left; nose and neck stay)
MIRROR = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)


def mirror_sample(img: np.ndarray, msk: np.ndarray, udp: np.ndarray | None, kp: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The sample reflected left-right, as the mirrored character would render: the picture and
    its labels flipped, each joint renamed to its mirror (:data:`MIRROR`: the character's right
    wrist seen in a mirror is a left wrist) and the UDP's lateral coordinate reflected
    (``x -> 1 - x``; exact for a body whose A-pose box is symmetric, the UDP being that box
    normalised). Applying it twice gives the sample back."""
    side = img.shape[1]
    k = np.asarray(kp, dtype=np.float64)[list(MIRROR)].copy()
    k[:, 0] = np.where(k[:, 2] > 0, side - 1 - k[:, 0], k[:, 0])
    u = None
    if udp is not None:
        u = udp[:, ::-1].copy()
        on = np.any(u != 0, axis=2)  # background stays 0
        u[..., 0] = np.where(on, 1.0 - u[..., 0], 0.0)
    return np.ascontiguousarray(img[:, ::-1]), np.ascontiguousarray(msk[:, ::-1]), u, k


def composite(rgba: np.ndarray, bg: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3].astype(np.float32) * a + bg.astype(np.float32) * (1 - a)).round().astype(np.uint8)


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour, contrast, grey, blur, noise and JPEG, each with its own chance."""
    import cv2

    x = img.astype(np.float32)
    if rng.random() < 0.8:
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.6, 1.4) + mean + rng.uniform(-30, 30)
        x = x * rng.uniform(0.85, 1.15, 3)
    if rng.random() < 0.3:
        g = x.mean(axis=2, keepdims=True)
        x = g + (x - g) * rng.uniform(0.0, 0.6)
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.4))
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(2, 10), x.shape)
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", x[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            x = cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(x)
