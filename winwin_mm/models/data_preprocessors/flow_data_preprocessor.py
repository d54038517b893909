"""Normalise and pad image pairs ``(6, H, W)`` for the flow model."""
from numbers import Number
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS
from torch import Tensor

@MODELS.register_module()
class FlowDataPreProcessor(BaseDataPreprocessor):
    """Both frames of each pair normalised alike and padded alike.

    ``inputs`` are ``(6, H, W)`` tensors (frame 1 in channels 0-2, frame 2
    in 3-5, from ``PackFlowInputs``; BGR as mmcv loads images). Each frame
    is converted to RGB (``bgr_to_rgb``) and normalised with ``mean``/``std``
    (ImageNet statistics on the 0-255 scale, i.e. ImageNet mean/std on
    [0, 1]); the batch is padded right/bottom to its largest size rounded up
    to ``size_divisor``, in training and at test time. This is the only place
    where flow inputs are padded: each sample's metainfo gets
    ``padding_size`` ``[left, right, top, bottom]`` (and ``pad_shape``), and
    ``WinWinFlowEstimator.postprocess_result`` crops exactly that from the
    prediction. The ground truth (``gt_flow``, ``gt_flow_valid``) is never
    padded: it keeps the frame's size (Spring: twice it), so metrics compare
    it with a prediction of the frame's size; training crops it per window
    (``crop_windows`` pads smaller windows as unknown).

    Args:
        mean: per-channel mean of one frame (RGB order).
        std: per-channel std of one frame (RGB order).
        bgr_to_rgb: convert each frame from BGR.
        size_divisor: pad H and W to a multiple of this (the patch size).
        pad_val: value of padded input pixels (after normalisation).
    """

    def __init__(self,
                 mean: Sequence[Number] = (123.675, 116.28, 103.53),
                 std: Sequence[Number] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: int = 16,
                 pad_val: float = 0.) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std are per channel of ONE frame '
                             f'(3 values each), got {mean}, {std}')
        self.register_buffer('mean', torch.tensor(list(mean) * 2).view(
            6, 1, 1), False)  # frames 1 and 2
        self.register_buffer('std', torch.tensor(list(std) * 2).view(
            6, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def normalize(self, pair: Tensor) -> Tensor:
        """``(6, H, W)`` raw pair -> normalised float pair."""
        if pair.shape[0] != 6:
            raise ValueError('flow inputs must be (6, H, W) image pairs '
                             '(frame 1 in channels 0-2, frame 2 in 3-5; use '
                             f'PackFlowInputs), got {tuple(pair.shape)}')
        pair = pair.float()
        if self.bgr_to_rgb:
            pair = pair[[2, 1, 0, 5, 4, 3]]
        return (pair - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> Dict:
        """``{'inputs': list of (6, H, W), 'data_samples': ...}`` ->
        ``{'inputs': (B, 6, H_pad, W_pad), 'data_samples': ...}``."""
        data = self.cast_data(data)
        inputs = data['inputs']
        samples: Optional[list] = data.get('data_samples')
        if isinstance(inputs, Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        pairs = [self.normalize(x) for x in inputs]
        d = self.size_divisor
        H = max(x.shape[-2] for x in pairs)
        W = max(x.shape[-1] for x in pairs)
        H, W = H + (-H % d), W + (-W % d)
        batch = []
        for i, x in enumerate(pairs):
            h, w = x.shape[-2:]
            pad = (0, W - w, 0, H - h)  # left, right, top, bottom
            batch.append(F.pad(x, pad, value=self.pad_val))  # 6, H, W
            if samples is None:
                continue
            samples[i].set_metainfo(dict(batch_input_shape=(H, W),
                                         pad_shape=(H, W),
                                         padding_size=[0, W - w, 0, H - h]))
        return dict(inputs=torch.stack(batch), data_samples=samples)
