"""Procedurally drawn rooms with exact depth: the pixels of the depth demo.

A pinhole camera (NYUv2-like field of view, ~63 degrees horizontally) stands
in a box-shaped room and looks at furniture (axis-aligned boxes) and balls.
Every pixel is ray-cast analytically against the room's six planes, the boxes
(slab test) and the spheres (quadratic), so the depth map is exact: the
camera-frame z of the nearest hit, in metres, as NYUv2 stores it. Textures
live in world coordinates (floor tiles, planks, wallpaper stripes), so the
image carries the perspective cues a monocular model can learn from; a window
in one wall is glass, where the "sensor" returns no depth (0 = invalid), as
a Kinect does.

World frame: x right, y up (floor at y = 0), z forward. Camera frame: x
right, y up, z forward; image rows go down.
"""
from typing import Tuple

import cv2
import numpy as np

# NYUv2 scene types (mmseg's NYUDataset classes) used as file-name prefixes,
# so mmseg's category_id parsing finds them.
ROOM_TYPES = ('bedroom', 'living_room', 'office', 'kitchen', 'classroom',
              'bathroom', 'dining_room', 'study')
FOCAL_PER_WIDTH = 0.81  # NYUv2: fx = 518.9 px at 640 px wide
MAX_DEPTH = 10.  # metres; rooms are built to stay within NYU's range
_TEXTURES = ('plain', 'checker', 'planks', 'stripes')


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation ``(3, 3)``: roll about z, pitch about x
    (positive looks up), then yaw about y (positive looks right)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return r_yaw @ r_pitch @ r_roll


def _material(rng: np.random.Generator, base, spread: float,
              textures=_TEXTURES) -> dict:
    return dict(albedo=np.clip(np.asarray(base, np.float64) +
                               rng.uniform(-spread, spread, 3), 0.05, 1),
                texture=textures[rng.integers(len(textures))],
                scale=rng.uniform(0.15, 0.6),
                table=rng.uniform(0.75, 1.15, 64))  # per-tile brightness


def _shade_texture(mat: dict, uv: np.ndarray) -> np.ndarray:
    """Albedo ``(n, 3)`` of surface points with surface coordinates ``uv``
    ``(n, 2)`` in metres."""
    s = mat['scale']
    cells = np.floor(uv / s).astype(np.int64)  # n, 2
    if mat['texture'] == 'checker':
        gain = np.where((cells.sum(1) % 2) == 0, 1.0, 0.72)
    elif mat['texture'] == 'planks':
        gain = mat['table'][cells[:, 0] % 64] * (
            1 + 0.06 * np.sin(uv[:, 1] * 40 / s))
        gain = np.where(np.abs(uv[:, 0] / s - np.round(uv[:, 0] / s)) < 0.03,
                        0.55, gain)  # gaps between planks
    elif mat['texture'] == 'stripes':
        gain = np.where((cells[:, 0] % 2) == 0, 1.0, 0.85)
    else:
        gain = np.ones(len(uv))
    return mat['albedo'][None] * gain[:, None]


def _ray_box(origin: np.ndarray, dirs: np.ndarray, lo: np.ndarray,
             hi: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Entry distance ``(n,)`` (inf = miss) and entry axis ``(n,)``."""
    with np.errstate(divide='ignore', invalid='ignore'):
        t1, t2 = (lo - origin) / dirs, (hi - origin) / dirs  # n, 3
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    t_in, t_out = np.nanmax(tmin, axis=1), np.nanmin(tmax, axis=1)
    hit = (t_out >= t_in) & (t_in > 1e-6)
    return np.where(hit, t_in, np.inf), np.nanargmax(tmin, axis=1)


def _ray_sphere(origin: np.ndarray, dirs: np.ndarray, center: np.ndarray,
                radius: float) -> np.ndarray:
    """Distance ``(n,)`` of the first hit (inf = miss); ``|dirs|`` free."""
    oc = origin - center
    a = (dirs * dirs).sum(1)
    b = 2 * dirs @ oc
    disc = b * b - 4 * a * (oc @ oc - radius**2)
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    return np.where((disc >= 0) & (t > 1e-6), t, np.inf)


def _build_room(rng: np.random.Generator) -> dict:
    """Room bounds, camera pose, light, furniture and materials."""
    width, height = rng.uniform(3.0, 6.5), rng.uniform(2.4, 3.2)
    length = rng.uniform(4.0, 8.5)  # back wall to the wall behind the camera
    lo = np.array([-width / 2, 0., -0.6])
    hi = np.array([width / 2, height, length - 0.6])
    cam = np.array([rng.uniform(-0.3, 0.3) * width, rng.uniform(1.0, 1.7),
                    0.])
    pose = _rotation(rng.uniform(-0.45, 0.45), rng.uniform(-0.35, 0.05),
                     rng.uniform(-0.04, 0.04))
    wall = _material(rng, (0.75, 0.72, 0.66), 0.2, ('plain', 'stripes'))
    mats = [wall, wall, _material(rng, (0.5, 0.4, 0.3), 0.2,
                                  ('checker', 'planks')),
            _material(rng, (0.92, 0.92, 0.9), 0.05, ('plain', )), wall,
            _material(rng, (0.7, 0.7, 0.7), 0.25, ('plain', 'stripes'))]
    boxes, spheres = [], []
    for _ in range(rng.integers(2, 7)):  # furniture on the floor
        size = rng.uniform([0.3, 0.3, 0.3], [1.6, 1.9, 1.0])
        x = rng.uniform(lo[0], hi[0] - size[0])
        z = rng.uniform(1.2, hi[2] - size[2])
        if rng.random() < 0.5:  # against a side wall, as furniture is
            x = lo[0] if rng.random() < 0.5 else hi[0] - size[0]
        boxes.append((np.array([x, 0, z]), np.array([x, 0, z]) + size,
                      _material(rng, rng.uniform(0.15, 0.85, 3), 0.1)))
    for _ in range(rng.integers(0, 4)):  # balls on the floor or on a box
        r = rng.uniform(0.1, 0.45)
        base = 0.
        c = np.array([rng.uniform(lo[0] + r, hi[0] - r), 0,
                      rng.uniform(1.2, hi[2] - r)])
        if boxes and rng.random() < 0.4:
            b_lo, b_hi, _ = boxes[rng.integers(len(boxes))]
            c[[0, 2]] = (b_lo[[0, 2]] + b_hi[[0, 2]]) / 2
            base = b_hi[1]
        c[1] = base + r
        spheres.append((c, r, _material(rng, rng.uniform(0.1, 0.9, 3), 0.1,
                                        ('plain', 'stripes'))))
    # Glass window in a wall: (wall index, u range, v range) in metres.
    glass = None
    if rng.random() < 0.6:
        side = int(rng.choice([0, 1, 5]))  # left, right or back wall
        span = (hi[2] - lo[2]) if side < 2 else width
        u0 = rng.uniform(0.1, 0.6) * span
        glass = (side, u0, u0 + rng.uniform(0.6, 1.5),
                 rng.uniform(0.8, 1.2), rng.uniform(1.8, 2.3))
    light = np.array([rng.uniform(lo[0], hi[0]) * 0.6, height - 0.2,
                      rng.uniform(1., hi[2] - 0.5)])
    return dict(lo=lo, hi=hi, cam=cam, pose=pose, mats=mats, boxes=boxes,
                spheres=spheres, glass=glass, light=light,
                exposure=rng.uniform(0.8, 1.2))


def render_room(rng: np.random.Generator, height: int,
                width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one room.

    Args:
        rng: Source of all randomness (one generator per image).
        height: Image height H in pixels.
        width: Image width W in pixels.

    Returns:
        A BGR uint8 image ``(H, W, 3)`` and a float32 depth map ``(H, W)`` in
        metres, 0 where the depth is invalid (glass).
    """
    room = _build_room(rng)
    f = FOCAL_PER_WIDTH * width
    us, vs = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    d_cam = np.stack([(us - width / 2) / f, -(vs - height / 2) / f,
                      np.ones_like(us)], -1).reshape(-1, 3)  # H*W, 3; z = 1
    dirs = d_cam @ room['pose'].T  # H*W, 3 in the world
    origin = room['cam']
    # With z_cam = 1 the ray parameter t *is* the camera-frame depth.

    # Room: the camera is inside, so the nearest positive plane is the exit.
    with np.errstate(divide='ignore'):
        t_planes = np.concatenate([(room['lo'] - origin) / dirs,
                                   (room['hi'] - origin) / dirs], 1)
    t_planes[~(t_planes > 0)] = np.inf  # H*W, 6: -x, -y, -z, +x, +y, +z
    plane = t_planes.argmin(1)
    best_t = t_planes.min(1)
    axis = plane % 3
    normal = np.zeros_like(dirs)
    normal[np.arange(len(dirs)), axis] = np.where(plane < 3, 1., -1.)
    # Surface ids: 0..5 walls in the order [-x, +x, -y floor, +y ceiling,
    # -z behind, +z back], then boxes, then spheres.
    surf = np.array([0, 2, 4, 1, 3, 5])[plane]
    for k, (lo, hi, _) in enumerate(room['boxes']):
        t, ax = _ray_box(origin, dirs, lo, hi)
        closer = t < best_t
        best_t = np.where(closer, t, best_t)
        surf[closer] = 6 + k
        n = np.zeros((closer.sum(), 3))
        n[np.arange(len(n)), ax[closer]] = -np.sign(
            dirs[closer, ax[closer]])
        normal[closer] = n
    for k, (c, r, _) in enumerate(room['spheres']):
        t = _ray_sphere(origin, dirs, c, r)
        closer = t < best_t
        best_t = np.where(closer, t, best_t)
        surf[closer] = 6 + len(room['boxes']) + k
        normal[closer] = (origin + t[closer, None] * dirs[closer] - c) / r
    points = origin + best_t[:, None] * dirs  # H*W, 3

    mats = (room['mats'] + [b[2] for b in room['boxes']] +
            [s[2] for s in room['spheres']])
    albedo = np.zeros_like(points)
    for s, mat in enumerate(mats):
        sel = surf == s
        if sel.any():
            # Surface coordinates: the two world axes across the normal.
            ax = np.abs(normal[sel]).argmax(1)
            uv = np.stack([points[sel, 2] * (ax == 0) + points[sel, 0] *
                           (ax != 0), points[sel, 1] * (ax != 1) +
                           points[sel, 2] * (ax == 1)], 1)  # n, 2
            albedo[sel] = _shade_texture(mat, uv)
    depth = best_t.astype(np.float32)
    if room['glass'] is not None:
        side, u0, u1, v0, v1 = room['glass']
        u = np.where(side < 2, points[:, 2] - room['lo'][2],
                     points[:, 0] - room['lo'][0])
        pane = ((surf == side) & (u > u0) & (u < u1) & (points[:, 1] > v0) &
                (points[:, 1] < v1))
        albedo[pane] = (0.75, 0.85, 1.0)  # bright sky behind the glass
        depth[pane] = 0.  # no return from glass: invalid, as in NYUv2

    to_light = room['light'] - points
    dist2 = (to_light**2).sum(1, keepdims=True)
    lambert = np.clip((normal * to_light).sum(1, keepdims=True), 0,
                      None) / np.sqrt(dist2)
    light = 0.35 + 2.2 * lambert / (1 + 0.15 * dist2)
    img = albedo * light * room['exposure'] * 210  # H*W, 3 RGB
    img = img.reshape(height, width, 3).astype(np.float32)
    img += rng.standard_normal(img.shape).astype(np.float32) * 3
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    img = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1].copy()
    return img, np.minimum(depth, MAX_DEPTH).reshape(height, width)


def room_type(rng: np.random.Generator) -> str:
    """A NYUv2 scene type for the file name."""
    return ROOM_TYPES[rng.integers(len(ROOM_TYPES))]


def depth_to_png16(depth: np.ndarray, scale: float = 1000.) -> np.ndarray:
    """Metres -> uint16 (millimetres for ``scale=1000``, NYUv2's format)."""
    return np.clip(np.round(depth * scale), 0, 65535).astype(np.uint16)
