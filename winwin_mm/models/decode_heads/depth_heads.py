"""ConvNeXt and DPT heads regressing metric depth (NYUv2-style).

A mixin turns a decode head into a depth head: one output channel mapped to
``(0, max_depth)`` by ``max_depth * sigmoid(x)``, losses on
``gt_depth_map`` (mmseg's depth losses, e.g. ``SiLogLoss``), and mmseg's
bilinear ``predict_by_feat``. Why a sigmoid rather than ReLU + clamp: both
are positive and bounded, but ReLU/clamp have zero gradient outside
``[0, max_depth]`` (a pixel pushed below 0 never comes back, and the log in
SiLog sees ``eps``), while the sigmoid keeps a gradient everywhere and
starts at ``max_depth / 2``. It is also what mmseg's ``VPDDepthHead`` does
(``sigmoid(out) * max_depth``; its ReLUs are on hidden features).

Ground truth in metres (``LoadDepthAnnotation(depth_rescale_factor=1e-3)``
for NYUv2's millimetre PNGs); 0 is invalid, which is also what the Win-Win
segmentor pads smaller windows with.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from .convnext_head import ConvNeXtHead
from .win_dpt_head import WinDPTHead


class DepthHeadMixin:
    """Depth output, loss and prediction for a ``BaseDecodeHead`` subclass.

    Put it first in the bases: ``class XDepthHead(DepthHeadMixin, XHead)``.
    It fixes ``num_classes = out_channels = 1`` and defaults
    ``loss_decode`` to ``SiLogLoss``.

    Args:
        max_depth (float): Upper bound of the predicted depth in metres
            (NYUv2: 10, as mmseg's NYU configs). Defaults to 10.
        **kwargs: Arguments of the decode head.
    """

    def __init__(self, *args, max_depth: float = 10., **kwargs) -> None:
        if max_depth <= 0:
            raise ValueError(f'max_depth must be > 0, got {max_depth}')
        for key in ('num_classes', 'out_channels'):
            if kwargs.get(key, 1) != 1:
                raise ValueError(f'a depth head has {key}=1, got '
                                 f'{kwargs[key]}')
        kwargs.update(num_classes=1, out_channels=1)
        # Only EncoderDecoder's binary segmentation reads ``threshold``; set
        # it so that BaseDecodeHead does not warn about a missing one.
        kwargs.setdefault('threshold', 0.5)
        kwargs.setdefault('loss_decode', dict(type='SiLogLoss'))
        super().__init__(*args, **kwargs)
        self.max_depth = float(max_depth)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Depth in metres, ``(N, 1, h_out, w_out)``, in
        ``(0, max_depth)``."""
        return self.max_depth * torch.sigmoid(super().forward(inputs))

    def _stack_batch_gt(self, batch_data_samples: SampleList) -> Tensor:
        return torch.stack([ds.gt_depth_map.data
                            for ds in batch_data_samples])  # N, 1, H, W

    def loss_by_feat(self, pred_depth: Tensor,
                     batch_data_samples: SampleList) -> dict:
        """Depth losses of a batch (of windows).

        The prediction is resized (bilinear) to the ground truth. Samples
        without a single valid pixel (GT ``> 0``), e.g. a window on a hole of
        the depth sensor, are left out: SiLog's ``sqrt`` of an all-masked
        sample is ``sqrt(0)``, whose gradient is NaN.

        Args:
            pred_depth (Tensor): ``(N, 1, h, w)`` from :meth:`forward`.
            batch_data_samples (list[SegDataSample]): With ``gt_depth_map``
                ``(1, H, W)`` in metres, 0 = invalid.

        Returns:
            dict[str, Tensor]: One entry per loss name.
        """
        gt = self._stack_batch_gt(batch_data_samples).to(pred_depth)
        pred = resize(pred_depth, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)  # N, 1, H, W
        keep = (gt > 0).flatten(1).any(1)  # N
        losses_decode: List[nn.Module] = (
            list(self.loss_decode) if isinstance(
                self.loss_decode, nn.ModuleList) else [self.loss_decode])
        loss = dict()
        for loss_decode in losses_decode:
            if keep.any():
                value = loss_decode(pred[keep], gt[keep])
            else:  # keeps the graph (and DDP) intact, contributes nothing
                value = pred.sum() * 0.
            name = loss_decode.loss_name
            loss[name] = loss[name] + value if name in loss else value
        return loss


@MODELS.register_module()
class ConvNeXtDepthHead(DepthHeadMixin, ConvNeXtHead):
    """:class:`ConvNeXtHead` regressing depth at stride ``16 / r``.

    Example::

        decode_head = dict(type='ConvNeXtDepthHead', in_channels=768,
                           channels=384, num_convs=4, max_depth=10.,
                           loss_decode=dict(type='SiLogLoss'))

    Args:
        max_depth (float): Depth bound in metres. Defaults to 10.
        **kwargs: :class:`ConvNeXtHead` arguments (``num_classes`` and
            ``out_channels`` are fixed to 1).
    """


@MODELS.register_module()
class WinDPTDepthHead(DepthHeadMixin, WinDPTHead):
    """:class:`WinDPTHead` regressing depth at stride 1.

    Example::

        decode_head = dict(type='WinDPTDepthHead', in_channels=[768] * 4,
                           channels=256, max_depth=10.,
                           loss_decode=dict(type='SiLogLoss'))

    Args:
        max_depth (float): Depth bound in metres. Defaults to 10.
        **kwargs: :class:`WinDPTHead` arguments (``num_classes`` and
            ``out_channels`` are fixed to 1).
    """
