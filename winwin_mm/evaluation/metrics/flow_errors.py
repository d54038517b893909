"""Per-pixel flow errors, including Spring's 2x ground-truth rule.

Pure tensor functions shared by :class:`FlowMetric` and the flow pictures.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ...models.losses import flow_valid_mask

# ||gt|| ranges of the speed-binned EPE (Sintel / Spring): [lo, hi).
SPEED_BINS = (('s0-10', 0., 10.), ('s10-40', 10., 40.),
              ('s40+', 40., float('inf')))


def flow_epe_map(pred: Tensor, gt: Tensor, valid: Optional[Tensor] = None,
                 max_flow: float = 1e4,
                 gt_scale: int = 1) -> Tuple[Tensor, Tensor, Tensor]:
    """End-point error per pixel of the prediction.

    The ground truth's size is declared, never guessed: it must be exactly
    ``gt_scale`` times the prediction's. With ``gt_scale = k > 1`` (Spring
    stores its ground truth at 2x, in the prediction's pixel units), each
    predicted pixel is compared with its ``k x k`` sub-pixels and the
    smallest error counts; the pixel is valid when any sub-pixel is, and
    ``||gt||`` is that of the sub-pixel with the smallest error.

    Args:
        pred: ``(2, h, w)`` predicted flow.
        gt: ``(2, k h, k w)`` ground truth (NaN = unknown).
        valid: optional ``(1, kh, kw)`` or ``(kh, kw)`` mask at ``gt``'s size.
        max_flow: ground truth with a norm at or above this is ignored.
        gt_scale: ``k``, the data sample's ``gt_flow_scale`` (1; Spring 2).

    Returns:
        ``epe`` ``(h, w)`` (0 where invalid), ``gt_norm`` ``(h, w)`` and the
        ``(h, w)`` bool mask of valid pixels.
    """
    pred = pred.float()
    gt = gt.to(pred)
    h, w = pred.shape[-2:]
    H, W = gt.shape[-2:]
    k = int(gt_scale)
    if (H, W) != (k * h, k * w):
        raise ValueError(
            f'ground truth of {H}x{W} pixels is not gt_flow_scale={k} times '
            f'the prediction\'s {h}x{w}: predictions must have the frame\'s '
            f'size (the model crops the padding off) and ground truth at k x '
            f'the frame (Spring) must be declared by the dataset as '
            f'gt_flow_scale=k and kept in PackFlowInputs.meta_keys')
    mask = flow_valid_mask(gt[None], None if valid is None else
                           valid.to(gt.device)[None], max_flow)[0]  # H, W
    gt = torch.nan_to_num(gt, nan=0., posinf=0., neginf=0.)
    if k == 1:
        epe = (pred - gt).norm(dim=0)
        return epe.masked_fill(~mask, 0.), gt.norm(dim=0), mask
    sub = gt.reshape(2, h, k, w, k).permute(0, 1, 3, 2, 4).reshape(
        2, h, w, k * k)  # 2, h, w, k*k sub-pixels
    sub_mask = mask.reshape(h, k, w, k).permute(0, 2, 1, 3).reshape(
        h, w, k * k)
    epe = (pred[..., None] - sub).norm(dim=0)  # h, w, k*k
    epe = epe.masked_fill(~sub_mask, float('inf'))
    epe, best = epe.min(dim=-1)  # h, w
    norm = sub.norm(dim=0).gather(-1, best[..., None])[..., 0]  # h, w
    mask = sub_mask.any(dim=-1)
    return epe.masked_fill(~mask, 0.), norm, mask


def flow_error_sums(pred: Tensor, gt: Tensor, valid: Optional[Tensor] = None,
                    thresholds: Sequence[float] = (0.5, 1., 3., 5.),
                    max_flow: float = 1e4,
                    gt_scale: int = 1) -> Dict[str, float]:
    """Sums and counts over one pair's valid pixels, to be added over a
    dataset (pixel-weighted metrics, not means of means). Arguments as in
    :func:`flow_epe_map`.

    Returns:
        ``count``, ``epe_sum``, ``bad{t}`` (number of pixels with EPE > t),
        ``fl`` (KITTI outliers: EPE > 3 and > 5 % of ``||gt||``), and per
        speed bin ``{name}_sum`` / ``{name}_count``.
    """
    epe, norm, mask = flow_epe_map(pred, gt, valid, max_flow, gt_scale)
    epe, norm = epe[mask].double(), norm[mask].double()
    out = dict(count=float(mask.sum()), epe_sum=float(epe.sum()),
               fl=float(((epe > 3.) & (epe > 0.05 * norm)).sum()))
    for t in thresholds:
        out[f'bad{t:g}'] = float((epe > t).sum())
    for name, lo, hi in SPEED_BINS:
        inside = (norm >= lo) & (norm < hi)
        out[f'{name}_sum'] = float(epe[inside].sum())
        out[f'{name}_count'] = float(inside.sum())
    return out
