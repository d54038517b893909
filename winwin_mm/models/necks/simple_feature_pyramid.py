"""ViTDet's simple feature pyramid: multi-scale maps from one plain-ViT map.

Li et al., "Exploring Plain Vision Transformer Backbones for Object
Detection" (ECCV 2022): a plain ViT gives one stride-16 map; deconvolutions
and pooling make the stride 4/8/16/32 maps a detector's FPN-style heads
expect, with no lateral top-down path.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map (ViTDet)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # B, H, W, C
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)  # B, C, H, W


def _rescale(channels: int, factor: float) -> nn.Module:
    """Resample a map by ``factor`` in {4, 2, 1, 0.5}."""
    if factor == 4:
        return nn.Sequential(
            nn.ConvTranspose2d(channels, channels // 2, 2, stride=2),
            ChannelLayerNorm(channels // 2), nn.GELU(),
            nn.ConvTranspose2d(channels // 2, channels // 4, 2, stride=2))
    if factor == 2:
        return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2)
    if factor == 1:
        return nn.Identity()
    if factor == 0.5:
        return nn.MaxPool2d(2, stride=2)
    raise ValueError(f'scale factor {factor} is not supported; use 4, 2, 1 '
                     'or 0.5 (ViTDet: (4, 2, 1, 0.5))')


def _rescaled_channels(channels: int, factor: float) -> int:
    return {4: channels // 4, 2: channels // 2}.get(factor, channels)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Multi-scale maps from the last map of a plain ViT (ViTDet's simple
    feature pyramid), as a neck for mmdet detectors: from another project,
    ``neck=dict(type='mmseg.SimpleFeaturePyramid', ...)``.

    Each level resamples the input map (``scale_factors``), then a 1x1 and
    a 3x3 convolution, each followed by a channel LayerNorm, bring it to
    ``out_channels``. Levels beyond ``len(scale_factors)`` are stride-2 max
    poolings of the last (RetinaNet's P6).

    Args:
        in_channels: channels of the backbone map (the last one given).
        out_channels: channels of every output level.
        scale_factors: resolution of each level relative to the input map;
            ViTDet's ``(4.0, 2.0, 1.0, 0.5)`` turns stride 16 into strides
            4, 8, 16 and 32.
        num_outs: number of output levels (``>= len(scale_factors)``).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 4, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs < len(scale_factors):
            raise ValueError(f'num_outs ({num_outs}) must be at least the '
                             f'number of scale_factors ({scale_factors})')
        if in_channels % 4:
            raise ValueError(f'in_channels ({in_channels}) must be divisible '
                             'by 4 (the x4 level halves the channels twice)')
        self.num_outs = num_outs
        self.stages = nn.ModuleList()
        for factor in scale_factors:
            mid = _rescaled_channels(in_channels, factor)
            self.stages.append(nn.Sequential(
                _rescale(in_channels, factor),
                nn.Conv2d(mid, out_channels, 1, bias=False),
                ChannelLayerNorm(out_channels),
                nn.Conv2d(out_channels, out_channels, 3, padding=1,
                          bias=False),
                ChannelLayerNorm(out_channels)))

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """``inputs``: the backbone's maps; only the last ``(B, C, h, w)``
        is used. Returns ``num_outs`` maps ``(B, out_channels, ., .)``."""
        x = inputs[-1]
        outs: List[torch.Tensor] = [stage(x) for stage in self.stages]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
