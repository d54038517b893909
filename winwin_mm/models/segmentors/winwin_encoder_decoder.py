"""Encoder-decoder that trains on windows and predicts whole images."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList
from torch import Tensor

from ...structures import crop_windows

# Ground-truth maps cropped per window, and what pads smaller windows.
# ``None`` = the decode head's ignore_index.
_GT_FIELDS = {'gt_sem_seg': None, 'gt_edge_map': None, 'gt_depth_map': 0.}


@MODELS.register_module()
class WinWinEncoderDecoder(EncoderDecoder):
    """mmseg ``EncoderDecoder`` for Win-Win training.

    Training: the window boxes (``data_sample.metainfo['windows']``, added by
    ``RandomWindows`` and kept by ``PackSegInputs(meta_keys=(..., 'windows'))``)
    go to the backbone, which returns one map per window folded into the
    batch; the ground truth is cropped to the same windows, so the decode and
    auxiliary heads, their losses and metrics are the stock mmseg ones.

    Test: ``test_cfg.mode='whole'`` runs the full image in one forward pass
    (padded to the backbone's ``size_divisor`` and cropped back); ``'slide'``
    is mmseg's tiling, kept as the baseline.

    Takes the same arguments as mmseg's ``EncoderDecoder``.
    """

    _warned_no_windows = False

    def extract_feat(self, inputs: Tensor, windows=None) -> List[Tensor]:
        """Backbone (+ neck) features; with windows, ``(B*K, C, h, w)``."""
        if windows is None:
            x = self.backbone(inputs)
        else:
            x = self.backbone(inputs, windows)
        if self.with_neck:
            x = self.neck(x)
        return x

    # ----------------------------------------------------------------- train
    def _batch_windows(self, inputs: Tensor,
                       data_samples: SampleList) -> Tuple[List[Tensor], bool]:
        """Per-image pixel boxes, and whether they came from the samples.

        Without windows in the metainfo the whole (padded) image is one
        window, so the same cropping path handles labels and padding.
        """
        found = ['windows' in ds.metainfo for ds in data_samples]
        if any(found) and not all(found):
            raise ValueError('some data samples have "windows" in their '
                             'metainfo and some do not: put RandomWindows in '
                             'every training pipeline of the dataset')
        if all(found):
            return [torch.as_tensor(ds.metainfo['windows'], dtype=torch.long,
                                    device=inputs.device).reshape(-1, 4)
                    for ds in data_samples], True
        # Whole-image losses outside training (temperature tuning) are
        # intended; only warn about a training pipeline without windows.
        if self.training and not WinWinEncoderDecoder._warned_no_windows:
            print_log('WinWinEncoderDecoder: no "windows" in the data samples '
                      '(is RandomWindows in the train pipeline and "windows" '
                      'in PackSegInputs.meta_keys?); training on whole images',
                      logger='current', level=30)
            WinWinEncoderDecoder._warned_no_windows = True
        d = self.backbone_size_divisor
        H, W = inputs.shape[-2:]
        box = torch.tensor([[0, 0, W + (-W % d), H + (-H % d)]],
                           device=inputs.device)
        return [box] * len(data_samples), False

    def crop_data_samples(self, data_samples: SampleList,
                          windows: List[Tensor]) -> SampleList:
        """One data sample per window with its ground truth cropped.

        Windows smaller than the largest of the batch are padded with the
        ignore index (segmentation) or 0 (depth = invalid), matching the
        zero-padded per-window feature maps of the backbone.
        """
        crops = {}
        for field, pad in _GT_FIELDS.items():
            if field in data_samples[0]:
                pad = self.decode_head.ignore_index if pad is None else pad
                maps = torch.stack([ds.get(field).data
                                    for ds in data_samples])  # B, 1, H, W
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

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the decode (and auxiliary) heads on the windows."""
        windows, from_samples = self._batch_windows(inputs, data_samples)
        if from_samples:
            x = self.extract_feat(inputs, windows)
        else:
            x = self.extract_feat(inputs)
        window_samples = self.crop_data_samples(data_samples, windows)
        losses = self._decode_head_forward_train(x, window_samples)
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train(x, window_samples))
        return losses

    # ------------------------------------------------------------------ test
    @property
    def backbone_size_divisor(self) -> int:
        return int(getattr(self.backbone, 'size_divisor', 1))

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Whole-image logits ``(B, C, H, W)`` in one forward pass.

        The input is padded to the backbone's size divisor so that the head
        output covers an exact multiple of the feature stride; the logits are
        resized to the padded size and cropped, so no pixel is misplaced.
        """
        H, W = inputs.shape[-2:]
        d = self.backbone_size_divisor
        padded = F.pad(inputs, (0, -W % d, 0, -H % d))
        x = self.extract_feat(padded)
        size = torch.Size(padded.shape[-2:])
        metas = [dict(m, img_shape=size, pad_shape=size)
                 for m in batch_img_metas]
        logits = self.decode_head.predict(x, metas, self.test_cfg)
        return logits[..., :H, :W]

    # --------------------------------------------------------------- helpers
    def get_layer_depth(self, param_name: str) -> Tuple[int, int]:
        """Layer depth for mmpretrain's ``LearningRateDecayOptimWrapper
        Constructor`` (delegates to the backbone)."""
        if not hasattr(self.backbone, 'get_layer_depth'):
            raise NotImplementedError(
                f'{type(self.backbone).__name__} has no get_layer_depth(): '
                'layer-wise lr decay is not available for it')
        return self.backbone.get_layer_depth(param_name, 'backbone.')

    def set_temperature(self, value) -> None:
        """Set the backbone's attention temperature multiplier(s)."""
        self.backbone.set_temperature(value)

    def get_temperature(self) -> torch.Tensor:
        """The backbone's multipliers, ``(num_layers, num_heads)``."""
        return self.backbone.get_temperature()
