"""Procedurally drawn street scenes: the pixels of the synthetic dataset.

Scenes are built so that windows matter: a horizon at a random height splits
sky from ground (long-range context), a road converges to a vanishing point,
facades in perspective and skylines are larger than a training window, and
near vehicles span a good part of the image. Colours are jittered per object
and per image (a grey car on a grey road, overcast skies), so classes are
told apart by shape, texture and context rather than by colour alone.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

CLASSES = ('road', 'sidewalk', 'building', 'pole', 'sign', 'vegetation',
           'sky', 'person', 'vehicle')
PALETTE = [[128, 64, 128], [244, 35, 232], [70, 70, 70], [153, 153, 153],
           [220, 220, 0], [107, 142, 35], [70, 130, 180], [220, 20, 60],
           [0, 0, 142]]
# Cityscapes / BDD100K train ids of CLASSES, for the BDD100K layout.
BDD100K_IDS = (0, 1, 2, 5, 7, 8, 10, 11, 13)
ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, SKY, PERSON, VEHICLE = \
    range(len(CLASSES))
# Per-class luminance grain (texture), indexed by class id.
_GRAIN = np.array([7, 5, 6, 3, 2, 16, 1.5, 4, 3], np.float32)


def _jitter(rng: np.random.Generator, rgb: Sequence[float],
            spread: float) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float32) + rng.uniform(
        -spread, spread, 3), 0, 255)


def _poly(img, lab, pts, color, cls: Optional[int]) -> None:
    """Paint a polygon in the image and, unless cls is None, the labels."""
    pts = np.round(np.asarray(pts, np.float64)).astype(np.int32)
    cv2.fillPoly(img, [pts], [float(c) for c in color])
    if cls is not None:
        cv2.fillPoly(lab, [pts], int(cls))


def _rect(img, lab, x1, y1, x2, y2, color, cls: Optional[int]) -> None:
    _poly(img, lab, [(x1, y1), (x2, y1), (x2, y2), (x1, y2)], color, cls)


def _facade(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A flat building front (h, w, 3) with a grid of windows."""
    base = _jitter(rng, [(150, 145, 140), (170, 120, 90), (110, 110, 120),
                         (200, 190, 160)][rng.integers(4)], 30)
    cy, cx = (int(rng.integers(max(4, h // 14), max(5, h // 5))),
              int(rng.integers(max(4, w // 12), max(5, w // 4))))
    rows, cols = np.arange(h), np.arange(w)
    glass = (((rows % cy) > 0.35 * cy)[:, None] &
             ((cols % cx) > 0.4 * cx)[None, :])  # h, w
    # Some windows lit, some dark: one random draw per window cell.
    lit = (rng.random(((h // cy) + 1, (w // cx) + 1)) <
           0.3)[rows // cy][:, cols // cx]  # h, w
    colors = np.where(lit[..., None], _jitter(rng, (230, 210, 120), 20),
                      _jitter(rng, (50, 60, 75), 20))
    return np.where(glass[..., None], colors, base).astype(np.float32)


def _side_facade(img, lab, rng, yh: float, xv: float, walk_top: float,
                 walk_bottom: float) -> None:
    """A facade on the left, in perspective towards (xv, yh), standing on
    the outer line of the sidewalk, which runs from (walk_top, yh) to
    (walk_bottom, H). The right one is drawn on a mirrored canvas."""
    H, W = lab.shape
    if walk_bottom >= walk_top or walk_top <= 4:
        return
    xf = walk_top * rng.uniform(0.35, 0.85)
    top0 = H * rng.uniform(-0.4, 0.1)

    def ytop(x):
        return top0 + (yh - top0) * x / xv

    def ybot(x):
        return yh + (x - walk_top) * (H - yh) / (walk_bottom - walk_top)

    quad = np.float32([(0, top0), (xf, ytop(xf)), (xf, ybot(xf)),
                       (0, ybot(0))])
    th, tw = int(0.8 * H), int(0.5 * W)  # upsampled by the warp
    tex = _facade(rng, th, tw)
    src = np.float32([(0, 0), (tw, 0), (tw, th), (0, th)])
    warped = cv2.warpPerspective(tex, cv2.getPerspectiveTransform(src, quad),
                                 (W, H), borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((H, W), np.uint8)
    cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    img[mask > 0] = warped[mask > 0]
    lab[mask > 0] = BUILDING


def _tree(img, lab, rng, cx: float, base: float, size: float) -> None:
    _rect(img, lab, cx - 0.06 * size, base - 0.5 * size, cx + 0.06 * size,
          base, _jitter(rng, (90, 65, 40), 15), VEGETATION)
    center = (int(cx), int(base - 0.75 * size))
    axes = (max(1, int(size * rng.uniform(0.3, 0.5))),
            max(1, int(0.45 * size)))
    cv2.ellipse(img, center, axes, 0, 0, 360,
                [float(c) for c in _jitter(rng, (70, 110, 45), 25)], -1)
    cv2.ellipse(lab, center, axes, 0, 0, 360, VEGETATION, -1)


def _vehicle(img, lab, rng, cx: float, yb: float, w: float) -> None:
    h = w * (rng.uniform(1.0, 1.4) if rng.random() < 0.2 else
             rng.uniform(0.65, 0.95))
    body = _jitter(rng, [(200, 200, 205), (30, 30, 35), (120, 120, 125),
                         (160, 30, 30), (40, 60, 140), (180, 180, 170)]
                   [rng.integers(6)], 25)
    _rect(img, lab, cx - 0.5 * w, yb - 0.62 * h, cx + 0.5 * w, yb - 0.12 * h,
          body, VEHICLE)
    _poly(img, lab, [(cx - 0.35 * w, yb - h), (cx + 0.35 * w, yb - h),
                     (cx + 0.46 * w, yb - 0.6 * h),
                     (cx - 0.46 * w, yb - 0.6 * h)], body * 0.85, VEHICLE)
    _poly(img, lab, [(cx - 0.3 * w, yb - 0.94 * h), (cx + 0.3 * w,
                                                     yb - 0.94 * h),
                     (cx + 0.38 * w, yb - 0.66 * h),
                     (cx - 0.38 * w, yb - 0.66 * h)],
          _jitter(rng, (60, 75, 90), 20), None)
    for side in (-1, 1):
        x_out, x_in = cx + side * 0.46 * w, cx + side * 0.26 * w
        _rect(img, lab, min(x_out, x_in), yb - 0.16 * h, max(x_out, x_in),
              yb, (25, 25, 25), VEHICLE)
        _rect(img, lab, min(x_out, cx + side * 0.36 * w), yb - 0.52 * h,
              max(x_out, cx + side * 0.36 * w), yb - 0.44 * h,
              _jitter(rng, (210, 40, 30), 20), None)


def _person(img, lab, rng, cx: float, yb: float, h: float) -> None:
    trousers = _jitter(rng, [(40, 45, 80), (30, 30, 30), (110, 100, 80)]
                       [rng.integers(3)], 20)
    shirt = rng.uniform(20, 235, 3)
    for side in (-1, 1):
        _rect(img, lab, cx + side * 0.02 * h, yb - 0.47 * h,
              cx + side * 0.11 * h, yb, trousers, PERSON)
        _rect(img, lab, cx + side * 0.14 * h, yb - 0.78 * h,
              cx + side * 0.19 * h, yb - 0.45 * h, shirt * 0.9, PERSON)
    _rect(img, lab, cx - 0.14 * h, yb - 0.8 * h, cx + 0.14 * h, yb - 0.45 * h,
          shirt, PERSON)
    center, r = (int(cx), int(yb - 0.89 * h)), max(1, int(0.09 * h))
    cv2.circle(img, center, r,
               [float(c) for c in _jitter(rng, (190, 150, 120), 50)], -1)
    cv2.circle(lab, center, r, PERSON, -1)


def _sign(img, lab, rng, cx: float, yb: float, h: float) -> None:
    pw, s = max(1.0, 0.03 * h), 0.13 * h
    _rect(img, lab, cx - pw, yb - h, cx + pw, yb,
          _jitter(rng, (130, 130, 135), 25), POLE)
    cy, shape = yb - h - 0.5 * s, rng.integers(3)
    if shape == 0:  # round: red ring, white inside
        cv2.circle(img, (int(cx), int(cy)), max(1, int(s)), (200, 30, 30), -1)
        cv2.circle(img, (int(cx), int(cy)), max(1, int(0.7 * s)),
                   (235, 235, 235), -1)
        cv2.circle(lab, (int(cx), int(cy)), max(1, int(s)), SIGN, -1)
    elif shape == 1:  # rectangular, blue
        _rect(img, lab, cx - 1.2 * s, cy - s, cx + 1.2 * s, cy + s,
              _jitter(rng, (30, 70, 170), 25), SIGN)
    else:  # triangle, yellow
        _poly(img, lab, [(cx, cy - s), (cx + s, cy + s), (cx - s, cy + s)],
              _jitter(rng, (230, 200, 40), 20), SIGN)


def render_scene(rng: np.random.Generator, height: int,
                 width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one scene.

    Args:
        rng: Source of all randomness (one generator per image).
        height: Image height H in pixels.
        width: Image width W in pixels.

    Returns:
        A BGR uint8 image ``(H, W, 3)`` and a uint8 label map ``(H, W)`` of
        indices into ``CLASSES``.
    """
    W, H = width, height
    img = np.zeros((H, W, 3), np.float32)  # RGB while drawing
    lab = np.zeros((H, W), np.uint8)
    yh, xv = H * rng.uniform(0.3, 0.55), W * rng.uniform(0.3, 0.7)
    iyh = int(yh)
    top = _jitter(rng, [(60, 110, 200), (120, 160, 220), (150, 150, 160),
                        (200, 140, 110)][rng.integers(4)], 20)
    t = np.linspace(0, 1, iyh, dtype=np.float32)[:, None, None]
    img[:iyh] = top * (1 - t) + (top + (255 - top) * rng.uniform(0.3, 0.7)) * t
    lab[:iyh] = SKY
    img[iyh:] = _jitter(rng, (90, 120, 60), 25)
    lab[iyh:] = VEGETATION

    # Skyline of buildings and trees along the horizon.
    x = -W * rng.uniform(0, 0.1)
    while x < W:
        bw = W * rng.uniform(0.05, 0.18)
        if rng.random() < 0.25:
            _tree(img, lab, rng, x + bw / 2, yh + 2, H * rng.uniform(0.1, 0.3))
        else:
            bh = int(H * rng.uniform(0.05, 0.4))
            x1, x2 = int(max(x, 0)), int(min(x + bw, W))
            y1, y2 = max(iyh - bh, 0), iyh + 2
            if x2 > x1 and y2 > y1:
                img[y1:y2, x1:x2] = _facade(rng, y2 - y1, x2 - x1)
                lab[y1:y2, x1:x2] = BUILDING
        x += bw * rng.uniform(1.0, 1.3)

    tw, hb = W * rng.uniform(0.005, 0.02), W * rng.uniform(0.3, 0.6)
    cb, sw = xv + W * rng.uniform(-0.15, 0.15), W * rng.uniform(0.08, 0.25)

    def along(top_x: float, bottom_x: float, y: float) -> float:
        return top_x + (bottom_x - top_x) * (y - yh) / (H - yh)

    # Facades on either side; the right one drawn on a mirrored canvas.
    if rng.random() < 0.7:
        _side_facade(img, lab, rng, yh, xv, xv - 2 * tw, cb - hb - sw)
    if rng.random() < 0.7:
        img_m, lab_m = img[:, ::-1].copy(), lab[:, ::-1].copy()
        _side_facade(img_m, lab_m, rng, yh, W - xv, W - xv - 2 * tw,
                     W - cb - hb - sw)
        img[:], lab[:] = img_m[:, ::-1], lab_m[:, ::-1]

    _poly(img, lab, [(xv - 2 * tw, yh), (xv + 2 * tw, yh),
                     (cb + hb + sw, H), (cb - hb - sw, H)],
          _jitter(rng, (170, 160, 155), 30), SIDEWALK)
    _poly(img, lab, [(xv - tw, yh), (xv + tw, yh), (cb + hb, H),
                     (cb - hb, H)], _jitter(rng, (95, 95, 100), 25), ROAD)
    # Dashed centre line, dashes of equal length in depth (u = 1 / depth).
    mark = _jitter(rng, [(235, 235, 235), (230, 200, 60)][rng.integers(2)],
                   15)
    us = 1.0 / (1.0 + 0.8 * np.arange(30))
    for u0, u1 in zip(us[1::2], us[0::2]):
        y0, y1 = yh + u0 * (H - yh), yh + u1 * (H - yh)
        x0, x1 = along(xv, cb, y0), along(xv, cb, y1)
        d0, d1 = W * 0.006 * u0, W * 0.006 * u1
        _poly(img, lab, [(x0 - d0, y0), (x0 + d0, y0), (x1 + d1, y1),
                         (x1 - d1, y1)], mark, ROAD)

    # Objects, far to near so that near ones occlude.
    objects = ([('vehicle', rng.uniform(0.12, 1.0))
                for _ in range(rng.integers(1, 5))] +
               [('person', rng.uniform(0.15, 1.0))
                for _ in range(rng.integers(0, 5))] +
               [('sign', rng.uniform(0.15, 0.9))
                for _ in range(rng.integers(0, 3))])
    for kind, u in sorted(objects, key=lambda o: o[1]):
        yb = yh + u * (H - yh)
        xl, xr = along(xv - tw, cb - hb, yb), along(xv + tw, cb + hb, yb)
        rw = xr - xl
        if kind == 'vehicle':
            w = rw * rng.uniform(0.22, 0.4)
            _vehicle(img, lab, rng, rng.uniform(xl + w / 2, xr - w / 2), yb,
                     w)
            continue
        # People and signs stand on a sidewalk, left or right.
        if rng.random() < 0.5:
            lo, hi = along(xv - 2 * tw, cb - hb - sw, yb), xl
        else:
            lo, hi = xr, along(xv + 2 * tw, cb + hb + sw, yb)
        cx = rng.uniform(lo, hi)
        if kind == 'person':
            _person(img, lab, rng, cx, yb, rw * rng.uniform(0.3, 0.45))
        else:
            _sign(img, lab, rng, cx, yb, rw * rng.uniform(0.45, 0.7))

    # Texture, illumination and colour jitter of the whole image.
    img += rng.standard_normal((H, W, 1), np.float32) * _GRAIN[lab][..., None]
    img += 3 * rng.standard_normal((H, W, 3), np.float32)
    light = cv2.resize(rng.uniform(0.75, 1.2, (3, 5)).astype(np.float32),
                       (W, H), interpolation=cv2.INTER_CUBIC)
    img *= light[..., None] * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    img = cv2.GaussianBlur(img, (3, 3), 0.7)
    return np.clip(img, 0, 255).astype(np.uint8)[..., ::-1].copy(), lab
