"""The exact computation that ``export_onnx`` writes to an ONNX graph.

:class:`OnePassExportModule` wraps a built Win-Win model so that one call
does what the data preprocessor, the one-pass (``test_cfg.mode='whole'``)
forward and the padding removal do together, on plain tensors: raw pixels
of any height and width in, maps of that same height and width out. It is
an ordinary ``nn.Module``, so PyTorch can run exactly what ONNX Runtime runs
(the inference benchmark times the two side by side).
"""
import warnings
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models import DepthEstimator
from torch import Tensor

TASKS = ('seg', 'depth', 'flow')


def infer_task(model: nn.Module) -> str:
    """``'seg'``, ``'depth'`` or ``'flow'`` for a built Win-Win model.

    Raises:
        TypeError: the model is none of the three one-pass kinds.
    """
    from ..models.segmentors import (WinWinDepthEstimator,
                                     WinWinEncoderDecoder,
                                     WinWinFlowEstimator)
    if isinstance(model, WinWinFlowEstimator):
        return 'flow'
    # Checked before segmentation: a depth estimator is an EncoderDecoder.
    if isinstance(model, (WinWinDepthEstimator, DepthEstimator)):
        return 'depth'
    if isinstance(model, WinWinEncoderDecoder):
        return 'seg'
    raise TypeError(f'no ONNX export for {type(model).__name__}: export '
                    'takes WinWinEncoderDecoder (seg), WinWinDepthEstimator '
                    '(depth) or WinWinFlowEstimator (flow)')


def _normalisation(pre: nn.Module, channels: int
                   ) -> Tuple[bool, Tensor, Tensor, float]:
    """(bgr_to_rgb, mean (C,1,1), std (C,1,1), pad value) of a
    ``SegDataPreProcessor`` or ``FlowDataPreProcessor``; identity (and pad
    0) for a preprocessor without them."""
    # FlowDataPreProcessor: bgr_to_rgb; mmseg's: channel_conversion (either
    # way round, a reversal of the three channels).
    flip = bool(getattr(pre, 'bgr_to_rgb',
                        getattr(pre, 'channel_conversion', False)))
    normalise = getattr(pre, '_enable_normalize', True)
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    if not normalise or mean is None or std is None:
        mean, std = torch.zeros(channels), torch.ones(channels)
    mean = mean.detach().float().reshape(-1)[:channels]
    std = std.detach().float().reshape(-1)[:channels]
    return (flip, mean.view(channels, 1, 1).clone(),
            std.view(channels, 1, 1).clone(),
            float(getattr(pre, 'pad_val', 0)))


def _crop(x: Tensor, H, W) -> Tensor:
    """The top-left ``H x W`` of ``(B, C, H_pad, W_pad)`` as a new tensor.

    Gathered rather than sliced: a slice is a view whose contiguity
    torch.export decides from the example (padded or not), which ties the
    graph to inputs that need the same padding.
    """
    rows = torch.arange(H, device=x.device)
    cols = torch.arange(W, device=x.device)
    return x.index_select(2, rows).index_select(3, cols)  # B, C, H, W


class OnePassExportModule(nn.Module):
    """Raw pixels -> one-pass prediction at the input's size.

    Inputs are float32 ``(B, 3, H, W)`` images with values in ``[0, 255]``,
    channels in the order the model's data preprocessor expects on its input
    (mmcv/OpenCV's BGR for the shipped configs, which set ``bgr_to_rgb``).
    ``H`` and ``W`` are any size: the module, not the caller, does what the
    data preprocessor does (BGR -> RGB, ``(x - mean) / std``, padding right
    and bottom to the patch multiple with ``pad_val``) and crops the output
    back to ``H x W``.

    Outputs (``B`` = batch):

    - ``'seg'``: ``logits`` ``(B, num_classes, H, W)``, the decode head's
      scores resized to the padded input as mmseg's whole inference does
      (``argmax`` over dim 1 is the label map);
    - ``'depth'``: ``depth`` ``(B, 1, H, W)`` in metres;
    - ``'flow'`` (two inputs, frame 1 and frame 2): ``flow`` ``(B, 2, H, W)``
      ``(u, v)`` in pixels and ``flow_conf`` ``(B, 1, H, W)``, the raw
      confidence channel (larger = less certain).

    The model always runs in one pass over the whole image, whatever its
    ``test_cfg.mode`` says (slide / tile are loops of such passes).

    Args:
        model: a built ``WinWinEncoderDecoder``, ``WinWinDepthEstimator`` or
            ``WinWinFlowEstimator`` (its weights are shared, not copied).
        task: ``'seg'``, ``'depth'`` or ``'flow'``; None infers it from the
            model's class.
    """

    def __init__(self, model: nn.Module, task: Union[str, None] = None
                 ) -> None:
        super().__init__()
        found = infer_task(model)
        if task is not None and task != found:
            raise ValueError(f'task={task!r} but {type(model).__name__} is '
                             f'a {found!r} model')
        self.task = found
        self.model = model
        mode = (getattr(model, 'test_cfg', None) or {}).get('mode', 'whole')
        if mode != 'whole':
            warnings.warn(f"the model's test_cfg.mode is {mode!r}; the export "
                          'runs it in one pass over the whole image')
        channels = 6 if found == 'flow' else 3
        flip, mean, std, pad = _normalisation(model.data_preprocessor,
                                              channels)
        self.bgr_to_rgb = flip
        self.pad_val = pad
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)
        self.size_divisor = model.backbone_size_divisor

    @property
    def input_names(self) -> Tuple[str, ...]:
        return ('frame1', 'frame2') if self.task == 'flow' else ('image', )

    @property
    def output_names(self) -> Tuple[str, ...]:
        return {'seg': ('logits', ), 'depth': ('depth', ),
                'flow': ('flow', 'flow_conf')}[self.task]

    def _prepare(self, x: Tensor) -> Tensor:
        """Normalise and pad ``(B, C, H, W)`` raw pixels (C = 3, or 6 for a
        pair) as the data preprocessor does."""
        if self.bgr_to_rgb:  # per frame: BGR -> RGB
            x = torch.cat([f.flip(1) for f in x.split(3, dim=1)], dim=1)
        x = (x - self.mean) / self.std
        H, W = x.shape[-2:]
        d = self.size_divisor
        # Written as a ceiling so that torch.export's symbolic H_pad is
        # d * ((H + d - 1) // d), whose range it can bound (H % d forms
        # leave guards it cannot prove for every H).
        H_pad, W_pad = (H + d - 1) // d * d, (W + d - 1) // d * d
        return F.pad(x, (0, W_pad - W, 0, H_pad - H),
                     value=self.pad_val)  # B, C, H_pad, W_pad

    def forward(self, image: Tensor, frame2: Optional[Tensor] = None
                ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """See the class docstring.

        Args:
            image: ``(B, 3, H, W)`` raw image (flow: frame 1).
            frame2: flow only, ``(B, 3, H, W)`` raw frame 2.
        """
        if (frame2 is None) != (self.task != 'flow'):
            raise ValueError('flow takes two frames, seg and depth one image')
        H, W = image.shape[-2:]
        x = self._prepare(image if frame2 is None else
                          torch.cat([image, frame2], dim=1))  # B, C, H, W
        if self.task == 'flow':
            m = self.model
            out = _crop(m.head_forward(m.extract_feat(x)), H, W)  # B,3,H,W
            return out[:, :2], out[:, 2:]
        feats = self.model.extract_window_feat(x)
        # The head's output upsampled to the padded input, as
        # EncoderDecoder.encode_decode does with img_shape = its size.
        size = x.shape[-2:]
        metas = [dict(img_shape=size, pad_shape=size)] * x.shape[0]
        out = self.model.decode_head.predict(feats, metas,
                                             self.model.test_cfg)
        return _crop(out, H, W)  # B, C, H, W
