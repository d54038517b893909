"""Read and write optical flow files in the formats of the flow datasets.

``read_flow(path)`` returns ``(flow, valid)``: ``flow`` (H, W, 2) float32,
``(u, v)`` in pixels, NaN where ``valid`` (H, W) bool is False. A pixel is
valid when its flow is finite and the format marks it as known:

- ``.flo`` (Middlebury, FlyingChairs, Sintel): ``PIEH``, int32 width and
  height, then row-major little-endian float32 ``(u, v)``; ``|u|`` or
  ``|v|`` > 1e9 means unknown. Read with ``mmcv.flowread`` after checking the
  header and the size ourselves (mmcv reads whatever is there).
- ``.pfm`` (FlyingThings3D): ``PF`` (3 channels) or ``Pf`` (1), width and
  height, a scale whose sign is the byte order (negative: little-endian),
  then float32 rows from the bottom up. Flow is the first two channels.
- ``.png`` (KITTI): 16-bit RGB, ``(R, G)`` = ``u * 64 + 2**15``,
  ``v * 64 + 2**15``, ``B`` = valid (decoded by
  ``mmcv.video.sparse_flow_from_bytes``).
- ``.flo5`` (Spring): HDF5 with a dataset ``flow`` (H, W, 2), NaN = unknown.
- ``.npy`` (TartanAir): an (H, W, 2) array.

A damaged file raises :class:`FlowReadError` naming the file and the fault.
"""
import os
import os.path as osp
from typing import Callable, Dict, Optional, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.video import sparse_flow_from_bytes

FlowAndValid = Tuple[np.ndarray, np.ndarray]

_FLO_MAGIC = b'PIEH'
_FLO_UNKNOWN = 1e9  # Middlebury: |u| or |v| above this is unknown
_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


class FlowReadError(ValueError):
    """A flow file that is truncated, corrupt or not in its format."""


def _fail(path: str, what: str) -> FlowReadError:
    return FlowReadError(f'{path}: {what}')


def _read_bytes(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def _read_flo(path: str) -> FlowAndValid:
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(12)
    if len(head) < 12:
        raise _fail(path, f'truncated: {size} bytes, a .flo header alone '
                    'takes 12')
    if head[:4] != _FLO_MAGIC:
        raise _fail(path, f'not a .flo file: starts with {head[:4]!r}, '
                    f'expected {_FLO_MAGIC!r}')
    w, h = (int(v) for v in np.frombuffer(head[4:], '<i4'))
    if w <= 0 or h <= 0 or w * h > 1 << 30:
        raise _fail(path, f'corrupt header: size {w}x{h}')
    need = w * h * 2 * 4
    if size - 12 != need:
        what = 'truncated' if size - 12 < need else 'corrupt'
        raise _fail(path, f'{what}: header says {w}x{h}x2 floats '
                    f'({need} bytes), file holds {size - 12} bytes after '
                    'the header')
    flow = mmcv.flowread(path)
    return flow, (np.abs(flow) < _FLO_UNKNOWN).all(-1)


def _pfm_header(data: bytes, path: str) -> Tuple[list, int]:
    """The 4 whitespace-separated header tokens and where the data starts
    (one whitespace byte after the last token)."""
    tokens, pos = [], 0
    while len(tokens) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if pos == start or pos >= len(data) or pos > 256:
            raise _fail(path, 'truncated or corrupt PFM header '
                        f'(read {tokens})')
        tokens.append(data[start:pos])
    return tokens, pos + 1


def _read_pfm(path: str) -> FlowAndValid:
    data = _read_bytes(path)
    if data[:2] not in (b'PF', b'Pf'):
        raise _fail(path, f'not a PFM file: starts with {data[:2]!r}, '
                    "expected b'PF' or b'Pf'")
    (kind, w, h, scale), start = _pfm_header(data, path)
    if kind not in (b'PF', b'Pf'):
        raise _fail(path, f'not a PFM file: header {kind!r}')
    try:
        w, h, scale = int(w), int(h), float(scale)
    except ValueError:
        raise _fail(path, f'corrupt PFM header: size {w!r} x {h!r}, '
                    f'scale {scale!r}') from None
    if w <= 0 or h <= 0 or scale == 0:
        raise _fail(path, f'corrupt PFM header: size {w}x{h}, scale {scale}')
    channels = 3 if kind == b'PF' else 1
    if channels < 2:
        raise _fail(path, 'single-channel PFM (Pf): a flow needs 2 channels')
    need = w * h * channels * 4
    if len(data) - start < need:
        raise _fail(path, f'truncated: header says {w}x{h}x{channels} '
                    f'floats ({need} bytes), file holds {len(data) - start} '
                    'bytes after the header')
    dtype = '<f4' if scale < 0 else '>f4'  # the sign of scale: byte order
    img = np.frombuffer(data, dtype, w * h * channels, start)
    flow = img.reshape(h, w, channels)[::-1, :, :2]  # rows are bottom-up
    return flow.astype(np.float32), np.ones((h, w), bool)


def _read_kitti_png(path: str) -> FlowAndValid:
    data = _read_bytes(path)
    if data[:8] != _PNG_MAGIC or data[12:16] != b'IHDR':
        raise _fail(path, 'not a PNG file')
    depth, color = data[24], data[25]
    if depth != 16 or color != 2:
        raise _fail(path, f'not a KITTI flow PNG: {depth}-bit, colour type '
                    f'{color}; expected 16-bit RGB (colour type 2)')
    if b'IEND' not in data[-12:]:
        raise _fail(path, f'truncated: no IEND chunk at the end of its '
                    f'{len(data)} bytes')
    try:
        flow, valid = sparse_flow_from_bytes(data)
    except (TypeError, cv2.error):  # TypeError: cv2.imdecode gave None
        raise _fail(path, 'corrupt PNG: OpenCV cannot decode it') from None
    return flow, valid > 0


def _read_flo5(path: str) -> FlowAndValid:
    import h5py  # only Spring needs it
    try:
        f = h5py.File(path, 'r')
    except OSError as e:
        raise _fail(path, f'not a readable HDF5 file ({e})') from None
    with f:
        if 'flow' not in f:
            raise _fail(path, f"no dataset 'flow' (holds {list(f.keys())})")
        try:
            flow = np.asarray(f['flow'][()], np.float32)
        except (OSError, ValueError) as e:
            raise _fail(path, f"corrupt dataset 'flow' ({e})") from None
    return flow, np.ones(flow.shape[:2], bool)


def _read_npy(path: str) -> FlowAndValid:
    try:
        flow = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        raise _fail(path, f'corrupt or truncated .npy ({e})') from None
    return flow.astype(np.float32, copy=False), np.ones(flow.shape[:2], bool)


_READERS: Dict[str, Callable[[str], FlowAndValid]] = {
    '.flo': _read_flo,
    '.pfm': _read_pfm,
    '.png': _read_kitti_png,
    '.flo5': _read_flo5,
    '.npy': _read_npy,
}


def read_flow(path: str) -> FlowAndValid:
    """Read a flow file; the format is chosen by the extension.

    Args:
        path: A local ``.flo``, ``.pfm``, ``.png`` (KITTI), ``.flo5``
            (Spring) or ``.npy`` (TartanAir) file.

    Returns:
        ``flow`` (H, W, 2) float32 ``(u, v)`` in pixels, NaN where invalid,
        and ``valid`` (H, W) bool: finite and known by the format.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        FlowReadError: the file is truncated, corrupt or of an unknown
            format; the message names the file and the fault.
    """
    path = os.fspath(path)
    ext = osp.splitext(path)[1].lower()
    if ext not in _READERS:
        raise _fail(path, f'unknown flow format {ext!r}; known: '
                    f'{", ".join(_READERS)}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such flow file')
    flow, valid = _READERS[ext](path)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise _fail(path, f'flow of shape {flow.shape}, expected (H, W, 2)')
    flow = np.array(flow, np.float32)  # own, writable, contiguous
    valid = valid & np.isfinite(flow).all(-1)
    flow[~valid] = np.nan
    return flow, valid


def write_flow(path: str, flow: np.ndarray,
               valid: Optional[np.ndarray] = None) -> None:
    """Write a flow file; the format is chosen by the extension.

    Invalid pixels are written as the format's unknown value: 1e10 in
    ``.flo``, NaN in ``.pfm`` / ``.flo5`` / ``.npy``, ``B = 0`` in a KITTI
    ``.png``. Parent folders are created.

    Args:
        path: Target ``.flo``, ``.pfm``, ``.png``, ``.flo5`` or ``.npy``.
        flow: (H, W, 2) ``(u, v)`` in pixels.
        valid: (H, W) bool; None means finite pixels are valid.
    """
    path = os.fspath(path)
    ext = osp.splitext(path)[1].lower()
    flow = np.asarray(flow, np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f'flow of shape {flow.shape}, expected (H, W, 2)')
    valid = np.isfinite(flow).all(-1) & (
        True if valid is None else np.asarray(valid, bool))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if ext == '.flo':
        mmcv.flowwrite(np.where(valid[..., None], flow, 1e10), path)
    elif ext == '.png':
        uv = np.clip(np.round(flow * 64 + 2**15), 0, 2**16 - 1)
        uv = np.where(valid[..., None], uv, 0)
        rgb = np.concatenate([uv, valid[..., None]], -1).astype(np.uint16)
        bgr = np.ascontiguousarray(rgb[..., ::-1])  # cv2 writes BGR
        if not cv2.imwrite(path, bgr):
            raise OSError(f'{path}: could not write')
    else:
        flow = np.where(valid[..., None], flow, np.nan).astype(np.float32)
        if ext == '.pfm':
            write_pfm(path, flow)
        elif ext == '.flo5':
            import h5py
            with h5py.File(path, 'w') as f:
                f.create_dataset('flow', data=flow, compression='gzip')
        elif ext == '.npy':
            np.save(path, flow)
        else:
            raise ValueError(f'{path}: unknown flow format {ext!r}; known: '
                             f'{", ".join(_READERS)}')


def write_pfm(path: str, img: np.ndarray, little_endian: bool = True) -> None:
    """Write an (H, W, 2 | 3) float image as a 3-channel PFM (``PF``; a
    2-channel image gets a zero third channel, as FlyingThings3D's flow).

    Args:
        path: Target file.
        img: (H, W, C) floats, C = 2 or 3, top row first.
        little_endian: Byte order (written as the sign of the scale).
    """
    img = np.asarray(img, np.float32)
    if img.ndim != 3 or img.shape[2] not in (2, 3):
        raise ValueError(f'PFM image of shape {img.shape}, expected '
                         '(H, W, 2 | 3)')
    h, w = img.shape[:2]
    if img.shape[2] == 2:
        img = np.concatenate([img, np.zeros((h, w, 1), np.float32)], -1)
    dtype = '<f4' if little_endian else '>f4'
    with open(path, 'wb') as f:
        f.write(b'PF\n%d %d\n%s\n' % (w, h, b'-1.0' if little_endian
                                        else b'1.0'))
        f.write(np.ascontiguousarray(img[::-1], dtype).tobytes())
