"""The window machinery shared by every Win-Win task model.

Segmentation (:class:`WinWinEncoderDecoder`), depth
(:class:`WinWinDepthEstimator`) and flow (:class:`WinWinFlowEstimator`) mix
this into their mmseg base class. It owns the only task-independent parts of
Win-Win: reading the window boxes from the data samples (or one whole-image
box), cropping the ground truth per window with a per-task table of fields
and pad values, the whole-image forward (on inputs that the data
preprocessor padded), layer-wise lr decay and the temperature protocol.
A task supplies ``gt_fields`` and, where its inputs are not a single image,
``extract_train_feat``.
"""
import inspect
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList
from torch import Tensor

from ...structures import crop_windows
from ..utils import TemperatureMixin, collect_temperature_modules


class WinWinMixin(TemperatureMixin):
    """Window batching, ground-truth cropping and whole-image forward.

    Training reads pixel boxes from ``data_sample.metainfo[windows_key]``
    (added by ``RandomWindows``) and crops every ``gt_fields`` map to them,
    so heads, losses and metrics see ordinary (per-window) samples.
    ``train_cfg=dict(whole_image=True)`` is the full-resolution baseline:
    one whole-image window per sample, and samples that carry windows are
    refused. A training pipeline without windows also trains on whole
    images, with a warning. Extra tokens
    (``metainfo[extra_tokens_key]``, ``RandomWindows(num_extra_tokens=M)``)
    go to the backbone beside the windows and never reach a head or a loss.

    Class attributes:
        gt_fields: ground-truth pixel fields cropped per window, mapped to
            the value that pads smaller windows (``None`` = the decode
            head's ``ignore_index``).
        windows_key: the metainfo key of the (frame-1) boxes.
        extra_tokens_key: the metainfo key of the extra tokens' boxes.
    """

    gt_fields: Dict[str, Optional[float]] = {}
    windows_key: str = 'windows'
    extra_tokens_key: str = 'extra_tokens'
    _warned_no_windows = False

    # ------------------------------------------------------------- geometry
    @property
    def backbone_size_divisor(self) -> int:
        """Inputs are padded to a multiple of this (the patch size)."""
        return int(getattr(self.backbone, 'size_divisor', 1))

    def whole_image_windows(self, inputs: Tensor, num: int) -> List[Tensor]:
        """One box per image covering the input padded to the size
        divisor: the backbone's whole-image output has exactly this extent.

        Returns:
            ``num`` int64 ``(1, 4)`` boxes ``(0, 0, W_pad, H_pad)``.
        """
        d = self.backbone_size_divisor
        H, W = inputs.shape[-2:]
        box = torch.tensor([[0, 0, W + (-W % d), H + (-H % d)]],
                           device=inputs.device)  # 1, 4
        return [box] * num

    def _batch_windows(self, inputs: Tensor, data_samples: SampleList,
                       key: Optional[str] = None
                       ) -> Tuple[List[Tensor], bool]:
        """Per-image pixel boxes, and whether they came from the samples.

        Args:
            inputs: the batch, ``(B, C, H, W)``.
            data_samples: its samples.
            key: metainfo key of the boxes (default ``windows_key``).

        Returns:
            ``B`` int64 ``(K_b, 4)`` boxes, and False when they are the
            whole-image boxes (``train_cfg.whole_image``, or no windows).
        """
        key = key or self.windows_key
        found = [key in ds.metainfo for ds in data_samples]
        if (self.train_cfg or {}).get('whole_image', False):
            if any(found):
                raise ValueError(
                    f'train_cfg.whole_image=True but the data samples carry '
                    f'"{key}": remove RandomWindows from the train pipeline')
            return self.whole_image_windows(inputs, len(data_samples)), False
        if any(found) and not all(found):
            raise ValueError(f'some data samples have "{key}" in their '
                             'metainfo and some do not: put RandomWindows in '
                             'every training pipeline of the dataset')
        if all(found):
            return [torch.as_tensor(ds.metainfo[key], dtype=torch.long,
                                    device=inputs.device).reshape(-1, 4)
                    for ds in data_samples], True
        # Whole-image losses outside training (temperature tuning) are
        # intended; only warn about a training pipeline without windows.
        if self.training and not WinWinMixin._warned_no_windows:
            print_log(f'{type(self).__name__}: no "{key}" in the data samples '
                      '(is RandomWindows in the train pipeline and "windows" '
                      'in PackSegInputs.meta_keys?); training on whole images',
                      logger='current', level=30)
            WinWinMixin._warned_no_windows = True
        return self.whole_image_windows(inputs, len(data_samples)), False

    def _batch_extra_tokens(self, inputs: Tensor, data_samples: SampleList
                            ) -> Optional[List[Tensor]]:
        """Per-image one-patch boxes ``(M_b, 4)`` of the extra tokens, or
        None when no sample carries them."""
        key = self.extra_tokens_key
        found = [key in ds.metainfo for ds in data_samples]
        if not any(found):
            return None
        if not all(found):
            raise ValueError(f'some data samples have "{key}" in their '
                             'metainfo and some do not')
        return [torch.as_tensor(ds.metainfo[key], dtype=torch.long,
                                device=inputs.device).reshape(-1, 4)
                for ds in data_samples]

    def crop_data_samples(self, data_samples: SampleList,
                          windows: List[Tensor]) -> SampleList:
        """One data sample per window with its ground truth cropped.

        Windows smaller than the largest of the batch are padded with the
        field's pad value (``gt_fields``), matching the zero-padded
        per-window feature maps of the backbone. Metainfo gets ``window``
        (the box) and ``img_shape`` (its size).
        """
        crops = {}
        for field, pad in self.gt_fields.items():
            if field in data_samples[0]:
                pad = self.decode_head.ignore_index if pad is None else pad
                # Cropped per sample: no stacked full-size copy.
                maps = [ds.get(field).data for ds in data_samples]  # C, H, W
                crops[field] = crop_windows(maps, windows, pad_value=pad)
        out, row = [], 0
        for ds, boxes in zip(data_samples, windows):
            for box in boxes.tolist():
                sample = SegDataSample(metainfo=dict(
                    ds.metainfo, window=box,
                    img_shape=(box[3] - box[1], box[2] - box[0])))
                for field, maps in crops.items():
                    sample.set_data({field: PixelData(data=maps[row])})
                out.append(sample)
                row += 1
        return out

    # ---------------------------------------------------------------- train
    def extract_window_feat(self, inputs: Tensor,
                            windows: Optional[List[Tensor]] = None,
                            extra_tokens: Optional[List[Tensor]] = None
                            ) -> List[Tensor]:
        """Backbone (+ neck) maps; with windows ``(sum_b K_b, C, h, w)``,
        without ``(B, C, h, w)`` of the whole (padded) image. Extra tokens
        (one-patch boxes beside the windows) only take part in attention."""
        if windows is None:
            x = self.backbone(inputs)
        elif extra_tokens is None:
            x = self.backbone(inputs, windows)
        else:
            if 'extra_tokens' not in inspect.signature(
                    self.backbone.forward).parameters:
                raise TypeError(
                    f'{type(self.backbone).__name__} does not take '
                    'extra_tokens: remove num_extra_tokens from '
                    'RandomWindows or use RoPEVisionTransformer')
            x = self.backbone(inputs, windows, extra_tokens=extra_tokens)
        if self.with_neck:
            x = self.neck(x)
        return x

    def extract_train_feat(self, inputs: Tensor, data_samples: SampleList,
                           windows: Optional[List[Tensor]]) -> List[Tensor]:
        """Features of a training batch, one row per frame-1 window.

        Args:
            inputs: the batch.
            data_samples: its samples (a task with a second window set,
                e.g. flow's frame 2, reads it from here; so are the extra
                tokens).
            windows: the boxes, or None for whole images.
        """
        extra = None
        if windows is not None:
            extra = self._batch_extra_tokens(inputs, data_samples)
        return self.extract_window_feat(inputs, windows, extra)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the decode (and auxiliary) heads on the windows."""
        windows, from_samples = self._batch_windows(inputs, data_samples)
        x = self.extract_train_feat(inputs, data_samples,
                                    windows if from_samples else None)
        window_samples = self.crop_data_samples(data_samples, windows)
        losses = self._decode_head_forward_train(x, window_samples)
        if getattr(self, 'with_auxiliary_head', False):
            losses.update(
                self._auxiliary_head_forward_train(x, window_samples))
        return losses

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        """mmengine's ``BaseModel.train_step`` with the parameter update
        kept out of ``torch.compile``.

        mmengine's ``compile=True`` compiles ``model.train_step``. Dynamo
        cannot trace the optimizer step when its parameter groups are
        ``ConfigDict``s (mmengine's constructors build them so, e.g. for
        layer-wise lr decay), and compiling AdamW gains little; the forward
        and the loss are compiled, their backward runs the compiled graphs.
        """
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        _update_params(optim_wrapper, parsed_losses)
        return log_vars

    # ----------------------------------------------------------------- test
    def check_divisible(self, inputs: Tensor) -> None:
        """Raise a ValueError unless ``inputs`` ``(B, C, H, W)`` is a
        multiple of the backbone's size divisor.

        Padding happens in exactly one place, the data preprocessor
        (``SegDataPreProcessor(test_cfg=dict(size_divisor=16))``,
        ``FlowDataPreProcessor(size_divisor=16)``), which records
        ``padding_size`` in the metainfo; the result post-processing crops
        it away. A model that padded again here would produce maps whose
        size no metainfo describes.
        """
        H, W = inputs.shape[-2:]
        d = self.backbone_size_divisor
        if H % d or W % d:
            raise ValueError(
                f'{type(self).__name__}: input of {H}x{W} pixels is not a '
                f'multiple of the patch size {d}. Pad in the data '
                f'preprocessor: for whole-image tests set '
                f'model.data_preprocessor.test_cfg=dict(size_divisor={d}) '
                f'(SegDataPreProcessor; FlowDataPreProcessor pads to its '
                f'size_divisor), and give slide/tile modes a crop_size that '
                f'is a multiple of {d}')

    def check_test_padding(self) -> None:
        """Raise a ValueError at build time when the data preprocessor pads
        test inputs to a multiple that is not one of the backbone's size
        divisor (e.g. 16 for an Iwin backbone that needs 32)."""
        pre = self.data_preprocessor
        if hasattr(pre, 'test_cfg'):  # SegDataPreProcessor: by test_cfg
            key, pad = 'test_cfg.size_divisor', (pre.test_cfg or {}).get(
                'size_divisor')
        else:  # FlowDataPreProcessor: to size_divisor in both modes
            key, pad = 'size_divisor', getattr(pre, 'size_divisor', None)
        d = self.backbone_size_divisor
        if pad and pad % d:
            raise ValueError(
                f'model.data_preprocessor.{key}={pad} is not a multiple of '
                f'the {type(self.backbone).__name__} size divisor {d}: set '
                f'it to {d} (or a multiple)')

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Whole-image head output ``(B, C, H, W)`` in one forward pass.

        ``inputs`` ``(B, C, H, W)`` must already be padded to the backbone's
        size divisor (by the data preprocessor, see
        :meth:`check_divisible`); the head output covers exactly the input,
        so the result post-processing can crop ``padding_size`` away.
        """
        self.check_divisible(inputs)
        x = self.extract_window_feat(inputs)
        size = torch.Size(inputs.shape[-2:])
        # A torch.Size img_shape makes mmseg's head resize to the input.
        metas = [dict(m, img_shape=size, pad_shape=size)
                 for m in batch_img_metas]
        return self.decode_head.predict(x, metas, self.test_cfg)  # B,C,H,W

    # -------------------------------------------------------------- helpers
    def get_layer_depth(self, param_name: str) -> Tuple[int, int]:
        """Layer depth for mmpretrain's ``LearningRateDecayOptimWrapper
        Constructor`` (delegates to the backbone)."""
        if not hasattr(self.backbone, 'get_layer_depth'):
            raise NotImplementedError(
                f'{type(self.backbone).__name__} has no get_layer_depth(): '
                'layer-wise lr decay is not available for it')
        return self.backbone.get_layer_depth(param_name, 'backbone.')

    def temperature_modules(self) -> Dict[str, nn.Module]:
        """Every attention with a temperature, encoder then decoder:
        ``{'backbone.layers.i.attn': ..., 'decoder.blocks.j.attn': ...}``.

        Raises:
            NoTemperatureError: e.g. with an ``IwinTransformer`` backbone.
        """
        return collect_temperature_modules(
            dict(backbone=self.backbone,
                 decoder=getattr(self, 'decoder', None)),
            f'{type(self).__name__} with a {type(self.backbone).__name__} '
            'backbone')


@torch.compiler.disable
def _update_params(optim_wrapper, loss: Tensor) -> None:
    """Backward, optimizer step, zero grad (never traced by Dynamo)."""
    optim_wrapper.update_params(loss)
