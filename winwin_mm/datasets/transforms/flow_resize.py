"""Resizing flow ground truth: dense (bilinear) and sparse (scatter).

Both return the flow in the pixel units of the new size: resizing by
``(fx, fy)`` multiplies ``(u, v)`` by ``(fx, fy)``. Invalid pixels hold NaN
in the output and never leak into valid ones.
"""
from typing import Optional, Tuple

import cv2
import numpy as np


def flow_valid_np(flow: np.ndarray, valid: Optional[np.ndarray] = None,
                  max_norm: float = 1e4) -> np.ndarray:
    """``(H, W)`` bool: finite, inside ``valid`` and ``||gt|| < max_norm``.

    The numpy twin of :func:`winwin_mm.models.losses.flow_valid_mask` (the
    same rule, tested equal), so transforms, windows, loss and metric agree
    on what counts; numpy because transforms run in data-loader workers.

    Args:
        flow: ``(H, W, 2)`` flow.
        valid: optional ``(H, W)`` mask (bool or 0/1).
        max_norm: ground truth with a norm at or above this is unknown.
    """
    flow = np.asarray(flow, np.float32)
    with np.errstate(invalid='ignore', over='ignore'):
        ok = np.isfinite(flow).all(-1) & (np.hypot(
            flow[..., 0], flow[..., 1]) < max_norm)
    if valid is not None:
        ok &= np.asarray(valid) > 0
    return ok


def resize_flow(flow: np.ndarray, valid: Optional[np.ndarray],
                size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Bilinear resize of dense flow, ``(u, v)`` scaled to the new grid.

    Normalised interpolation: the valid-masked flow and the mask are resized
    alike and divided; an output pixel is valid only when every input pixel
    it interpolates is valid, so unknown values are never blended in.

    Args:
        flow: ``(H, W, 2)`` float flow (invalid pixels may be NaN).
        valid: ``(H, W)`` mask or None (all finite pixels valid).
        size: target ``(h, w)``.

    Returns:
        ``(h, w, 2)`` float32 flow (NaN where invalid) and ``(h, w)`` bool.
    """
    H, W = flow.shape[:2]
    h, w = size
    ok = flow_valid_np(flow, valid)
    masked = np.where(ok[..., None], flow, 0).astype(np.float32)
    num = cv2.resize(masked, (w, h), interpolation=cv2.INTER_LINEAR)
    den = cv2.resize(ok.astype(np.float32), (w, h),
                     interpolation=cv2.INTER_LINEAR)  # h, w
    out_valid = den > 1 - 1e-4  # all contributing pixels valid
    out = num / np.maximum(den, 1e-6)[..., None]
    out *= np.array([w / W, h / H], np.float32)
    out[~out_valid] = np.nan
    return out.astype(np.float32), out_valid


def resize_sparse_flow(flow: np.ndarray, valid: Optional[np.ndarray],
                       size: Tuple[int, int]
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Resize sparse flow (KITTI) by scattering, never interpolating.

    Each valid pixel moves to the target pixel containing its scaled centre
    ``((x + 0.5) * fx, (y + 0.5) * fy)`` and keeps its vector, scaled by
    ``(fx, fy)``; only those target pixels are valid. When downscaling
    several pixels may land on one target pixel: one of them is kept.

    Args:
        flow: ``(H, W, 2)`` flow.
        valid: ``(H, W)`` mask of the measured pixels.
        size: target ``(h, w)``.

    Returns:
        ``(h, w, 2)`` float32 flow (NaN where invalid) and ``(h, w)`` bool.
    """
    H, W = flow.shape[:2]
    h, w = size
    fx, fy = w / W, h / H
    ys, xs = np.nonzero(flow_valid_np(flow, valid))
    tx = np.floor((xs + 0.5) * fx).astype(np.int64)
    ty = np.floor((ys + 0.5) * fy).astype(np.int64)
    keep = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
    out = np.full((h, w, 2), np.nan, np.float32)
    out_valid = np.zeros((h, w), bool)
    out[ty[keep], tx[keep]] = (flow[ys[keep], xs[keep]] *
                               np.array([fx, fy], np.float32))
    out_valid[ty[keep], tx[keep]] = True
    return out, out_valid
