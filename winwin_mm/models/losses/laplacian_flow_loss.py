"""CroCo-Flow's bounded Laplacian loss for flow with a predicted scale."""
from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor


def flow_valid_mask(gt: Tensor, valid: Optional[Tensor] = None,
                    max_norm: float = 1e4) -> Tensor:
    """Pixels whose ground truth counts: finite, inside ``valid`` and with
    ``||gt|| < max_norm`` (datasets store "unknown" as huge values).

    Args:
        gt: ``(N, 2, H, W)`` flow.
        valid: optional ``(N, 1, H, W)`` or ``(N, H, W)`` mask (bool or 0/1).

    Returns:
        ``(N, H, W)`` bool.
    """
    finite = torch.isfinite(gt).all(dim=1)  # N, H, W
    mask = finite & (torch.nan_to_num(gt).norm(dim=1) < max_norm)
    if valid is not None:
        mask = mask & (valid.reshape(mask.shape) > 0)
    return mask


def laplacian_scale(conf: Tensor, a: float = 0.25, b: float = 4.) -> Tensor:
    """``s = (b - a) * sigmoid(c) + a``: the Laplacian scale in ``[a, b]``."""
    return (b - a) * torch.sigmoid(conf) + a


@MODELS.register_module()
class LaplacianFlowLoss(nn.Module):
    """Mean over valid pixels of ``(|du| + |dv|) / s + log s``.

    The head predicts ``(u, v, c)``; ``s`` bounds the scale of a Laplacian
    likelihood so the confidence can neither explode nor collapse
    (CroCo-Flow: ``a = 0.25``, ``b = 4``).

    Args:
        scale_min: ``a``.
        scale_max: ``b``.
        max_flow: ground truth with a norm at or above this is ignored.
        loss_weight: multiplier of the loss.
        loss_name: key in the loss dict (mmseg convention: ``loss_*``).
    """

    def __init__(self, scale_min: float = 0.25, scale_max: float = 4.,
                 max_flow: float = 1e4, loss_weight: float = 1.0,
                 loss_name: str = 'loss_flow') -> None:
        super().__init__()
        self.scale_min = scale_min
        self.scale_max = scale_max
        self.max_flow = max_flow
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, pred: Tensor, gt: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            pred: ``(N, 3, H, W)`` raw head output (u, v, c).
            gt: ``(N, 2, H, W)`` ground-truth flow (NaN = unknown).
            valid: optional ``(N, 1, H, W)`` mask (KITTI's sparse pixels).

        Returns:
            Scalar loss (0 with a gradient when no pixel is valid).
        """
        mask = flow_valid_mask(gt, valid, self.max_flow)  # N, H, W
        s = laplacian_scale(pred[:, 2], self.scale_min, self.scale_max)
        err = (pred[:, :2] - torch.nan_to_num(gt)).abs().sum(dim=1)  # N,H,W
        loss = err / s + s.log()
        if not mask.any():
            return pred.sum() * 0.
        return self.loss_weight * loss[mask].mean()
