"""Procedural layered scenes with exact optical flow (AutoFlow-like).

A scene is a textured background plus textured shapes stacked in depth
order. Layer ``k`` maps its texture to the image at frame ``t`` by an affine
map ``A_k(t) = T(p_k(t)) R(theta_k(t)) S(s_k(t)) K_k T(-c_k)`` (position,
rotation and zoom change linearly / geometrically with ``t``; ``K_k`` a fixed
aspect / shear), so the colour of frame ``t`` at pixel ``x`` owned by layer
``k`` is ``texture_k(A_k(t)^-1 x)`` and its flow to frame ``t + 1`` is
``A_k(t+1) A_k(t)^-1 x - x``, exactly. Occlusions follow from the stacking:
a pixel takes the flow of its top-most layer in frame ``t``. A camera pan
moves each layer in proportion to its inverse depth (parallax), on top of
its own motion, so the flow magnitudes spread from about a pixel to tens
of pixels. Textures are multi-octave value noise through random colour
ramps, with spots and fine grain, detailed at the scale of a token, so
every region can be matched.
"""
import math
from typing import List, Optional, Tuple

import cv2
import numpy as np

SceneArrays = Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]


def value_noise(rng: np.random.Generator, h: int, w: int, coarse: float,
                fine: float = 3.0, persistence: float = 0.6) -> np.ndarray:
    """(h, w) float32 noise, zero mean and unit std: octaves of cubic-
    interpolated random grids with cells from ``coarse`` down to ``fine``
    pixels, each octave ``persistence`` times weaker."""
    out = np.zeros((h, w), np.float32)
    cell, amp = float(coarse), 1.0
    while cell >= fine:
        gh, gw = int(h / cell) + 3, int(w / cell) + 3
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        up = cv2.resize(grid, (int(gw * cell), int(gh * cell)),
                        interpolation=cv2.INTER_CUBIC)
        oy, ox = rng.integers(0, int(cell) + 1, 2)  # random phase
        out += amp * up[oy:oy + h, ox:ox + w]
        cell, amp = cell / 2, amp * persistence
    return (out - out.mean()) / (out.std() + 1e-6)


def texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A rich (h, w, 3) float32 BGR texture in [0, 255].

    Detailed at the scale of a token: octaves of value noise from cells of
    12-48 px down to 2 px, each only a little weaker than the last, through
    a random colour ramp, with spots and fine grain. No stripes and no
    large smooth areas: a 16-pixel patch (and its neighbourhood) must look
    like its match and unlike the patches around it, or no model can find
    the match (with smooth noise and stripes even matching the raw pixels
    did worse than predicting zero flow, as ``tools/analysis/flow_probe.py
    tokens`` measures; docs/flow_demo.md).
    """
    s = value_noise(rng, h, w, rng.uniform(12, 48), fine=2.0,
                    persistence=0.7)
    # A random colour ramp over the noise: 4 to 6 colours.
    n = int(rng.integers(4, 7))
    ramp = rng.uniform(0, 255, (n, 3)).astype(np.float32)
    pos = np.clip((s / 3 + 0.5) * (n - 1), 0, n - 1 - 1e-4)
    i = pos.astype(np.int64)
    f = (pos - i)[..., None]
    img = ramp[i] * (1 - f) + ramp[i + 1] * f  # h, w, 3
    if rng.random() < 0.5:  # spots of another colour
        spots = value_noise(rng, h, w, rng.uniform(4, 16)) > rng.uniform(
            0.8, 1.6)
        img[spots] = img[spots] * 0.3 + rng.uniform(0, 255, 3) * 0.7
    # Fine grain so that flat-looking regions can be matched too.
    grain = np.stack([value_noise(rng, h, w, 8.0, 3.0) for _ in range(2)], -1)
    img += grain @ rng.uniform(-12, 12, (2, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.float32)


def shape_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w) float32 mask in {0, 1} of one random shape filling most of
    the canvas: ellipse, star-convex polygon, rectangle or noise blob."""
    kind = rng.integers(4)
    cy, cx = h / 2, w / 2
    if kind == 3:  # a blob: smooth noise cut inside a soft ellipse
        y, x = np.mgrid[:h, :w].astype(np.float32)
        r = ((y - cy) / (h / 2))**2 + ((x - cx) / (w / 2))**2
        blob = value_noise(rng, h, w, 0.3 * max(h, w), 8.0) * 0.5 + 1.5 - 2 * r
        return (blob > 0).astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    if kind == 0:
        cv2.ellipse(mask, (int(cx), int(cy)), (int(w * 0.47), int(h * 0.47)),
                    0, 0, 360, 1, -1)
    elif kind == 1:
        n = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * math.pi, n))
        rad = rng.uniform(0.45, 1.0, n) * 0.48
        pts = np.stack([cx + rad * w * np.cos(ang),
                        cy + rad * h * np.sin(ang)], -1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    else:
        mask[int(h * 0.05):int(h * 0.95), int(w * 0.05):int(w * 0.95)] = 1
    return mask.astype(np.float32)


class Layer:
    """One textured layer and its affine motion (see the module doc).

    Args:
        tex: (h, w, 3) texture.
        mask: (h, w) shape mask; None for the background (covers all).
        pos: (2,) image position ``(x, y)`` of the texture centre at t = 0.
        vel: (2,) velocity in pixels per frame.
        theta, omega: rotation (rad) at t = 0 and per frame.
        scale, zoom: scale at t = 0 and its log-change per frame.
        aspect: fixed (2, 2) aspect / shear.
    """

    def __init__(self, tex, mask, pos, vel, theta, omega, scale, zoom,
                 aspect) -> None:
        self.tex, self.mask = tex, mask
        self.pos, self.vel = np.asarray(pos, float), np.asarray(vel, float)
        self.theta, self.omega = theta, omega
        self.scale, self.zoom = scale, zoom
        self.aspect = np.asarray(aspect, float)

    def affine(self, t: float) -> np.ndarray:
        """(3, 3) texture -> image map at frame ``t``."""
        h, w = self.tex.shape[:2]
        th = self.theta + self.omega * t
        s = self.scale * math.exp(self.zoom * t)
        rot = s * np.array([[math.cos(th), -math.sin(th)],
                            [math.sin(th), math.cos(th)]])
        a = np.eye(3)
        a[:2, :2] = rot @ self.aspect
        a[:2, 2] = self.pos + self.vel * t - a[:2, :2] @ [w / 2, h / 2]
        return a


def _log_uniform_velocity(rng: np.random.Generator, low: float,
                          high: float) -> np.ndarray:
    speed = math.exp(rng.uniform(math.log(low), math.log(high)))
    ang = rng.uniform(0, 2 * math.pi)
    return speed * np.array([math.cos(ang), math.sin(ang)])


def random_layers(rng: np.random.Generator, height: int, width: int,
                  num_frames: int) -> List[Layer]:
    """A background and 5 to 11 shapes, back to front, whose motions make
    flow magnitudes from about 1 px to about 100 px, most of them between
    a half and three 16-pixel tokens (median about 16 px): the range where
    finding the match is the problem and where frame-2 windows matter."""
    mid = (num_frames - 1) / 2  # everything is centred mid-sequence
    # Camera pan: each layer moves by it times its inverse depth (parallax).
    pan = _log_uniform_velocity(rng, 8, 64)
    side = min(height, width)
    bg_vel = 0.5 * pan + rng.normal(0, 1.0, 2)
    layers = [Layer(texture(rng, height, width), None,
                    pos=np.array([width / 2, height / 2]) - bg_vel * mid,
                    vel=bg_vel, theta=0.0, omega=rng.normal(0, 0.004),
                    scale=1.0, zoom=rng.normal(0, 0.01), aspect=np.eye(2))]
    depths = np.sort(rng.uniform(0.4, 1.6, int(rng.integers(5, 12))))
    for depth in depths:  # far (small inverse depth) first
        h = max(int(side * rng.uniform(0.15, 0.6)), 8)
        w = max(int(h * math.exp(rng.uniform(-0.6, 0.6))), 8)
        # Own motion log-uniform in [2, 40] px / frame plus the parallax.
        vel = _log_uniform_velocity(rng, 2, 40) + pan * depth
        centre = rng.uniform([0, 0], [width, height])
        shear = np.array([[1, rng.normal(0, 0.15)], [0, 1]])
        layers.append(Layer(
            texture(rng, h, w), shape_mask(rng, h, w),
            pos=centre - vel * mid, vel=vel,
            theta=rng.uniform(-math.pi, math.pi), omega=rng.normal(0, 0.03),
            scale=1.0, zoom=rng.normal(0, 0.02), aspect=shear))
    return layers


def _warp(img: np.ndarray, a: np.ndarray, height: int, width: int,
          border: int) -> np.ndarray:
    return cv2.warpAffine(img, a[:2], (width, height),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=border, borderValue=0)


def _roi(layer: Layer, a: np.ndarray, height: int,
         width: int) -> Optional[Tuple[int, int, int, int]]:
    """Image box ``(x1, y1, x2, y2)`` covered by a shape layer under the
    texture -> image map ``a`` (None when off-image)."""
    h, w = layer.tex.shape[:2]
    corners = a[:2, :2] @ np.array([[0, w, 0, w], [0, 0, h, h]]) + a[:2, 2:]
    x1, y1 = np.floor(corners.min(1)).astype(int) - 1
    x2, y2 = np.ceil(corners.max(1)).astype(int) + 2
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def render_frame(layers: List[Layer], t: int, height: int,
                 width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Frame ``t``: (H, W, 3) float32 colours and (H, W) int owner (the
    index of the top-most layer at each pixel)."""
    img = np.zeros((height, width, 3), np.float32)
    owner = np.zeros((height, width), np.int64)
    for k, layer in enumerate(layers):
        a = layer.affine(t)
        if layer.mask is None:  # background: mirrored beyond its texture
            img = _warp(layer.tex, np.linalg.inv(a), height, width,
                        cv2.BORDER_REFLECT_101)
            continue
        box = _roi(layer, a, height, width)
        if box is None:
            continue
        x1, y1, x2, y2 = box
        shift = np.eye(3)
        shift[:2, 2] = x1, y1
        inv = np.linalg.inv(a) @ shift  # ROI pixel -> texture
        alpha = _warp(layer.mask, inv, y2 - y1, x2 - x1, cv2.BORDER_CONSTANT)
        col = _warp(layer.tex, inv, y2 - y1, x2 - x1, cv2.BORDER_REFLECT_101)
        # Soft (one-pixel) edges; the pixel belongs to the layer if > 0.5.
        roi = img[y1:y2, x1:x2]
        roi += alpha[..., None] * (col - roi)
        owner[y1:y2, x1:x2][alpha > 0.5] = k
    return img, owner


def layer_flow(layers: List[Layer], owner: np.ndarray, t: int) -> np.ndarray:
    """(H, W, 2) float32 flow from frame ``t`` to ``t + 1`` of the pixels'
    top-most layers."""
    height, width = owner.shape
    # Per layer, flow = D @ (x, y, 1) with D = A(t+1) A(t)^-1 - I (2 rows).
    d = np.stack([(layer.affine(t + 1) @ np.linalg.inv(layer.affine(t)))[:2]
                  for layer in layers]) - np.eye(3)[:2]  # K, 2, 3
    c = d.reshape(len(layers), 6)[owner]  # H, W, 6
    x = np.arange(width, dtype=np.float64)[None, :]
    y = np.arange(height, dtype=np.float64)[:, None]
    u = c[..., 0] * x + c[..., 1] * y + c[..., 2]
    v = c[..., 3] * x + c[..., 4] * y + c[..., 5]
    return np.stack([u, v], -1).astype(np.float32)


def render_sequence(rng: np.random.Generator, num_frames: int, height: int,
                    width: int,
                    layers: Optional[List[Layer]] = None) -> SceneArrays:
    """Frames, flows and owners of one scene.

    Returns:
        ``frames``: ``num_frames`` (H, W, 3) uint8 BGR images; ``flows``:
        ``num_frames - 1`` (H, W, 2) float32 flows from frame t to t + 1;
        ``owners``: ``num_frames`` (H, W) int64 top-most layer indices
        (for occlusion checks).
    """
    if layers is None:
        layers = random_layers(rng, height, width, num_frames)
    frames, flows, owners = [], [], []
    for t in range(num_frames):
        img, owner = render_frame(layers, t, height, width)
        frames.append(np.clip(img + 0.5, 0, 255).astype(np.uint8))
        owners.append(owner)
        if t + 1 < num_frames:
            flows.append(layer_flow(layers, owner, t))
    return frames, flows, owners


def final_pass(rng: np.random.Generator, frame: np.ndarray,
               blur: float, noise: float, gain: np.ndarray) -> np.ndarray:
    """Sintel's "final" look, roughly: a colour grade ``gain`` (3,), blur of
    std ``blur`` px and sensor noise of std ``noise`` grey levels."""
    img = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), blur) * gain
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
