"""PackFlowInputs: an image pair and its flow into the model's format."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

DEFAULT_META_KEYS = ('img_path', 'img2_path', 'flow_path', 'ori_shape',
                     'img_shape', 'pad_shape', 'scale_factor', 'flip',
                     'flip_direction', 'gt_flow_scale', 'windows',
                     'windows2')


@TRANSFORMS.register_module()
class PackFlowInputs(BaseTransform):
    """Pack a pair for ``WinWinFlowEstimator`` / ``FlowDataPreProcessor``.

    Required keys: ``img``, ``img2`` ``(H, W, 3)`` uint8 (BGR). Optional:
    ``gt_flow`` ``(h, w, 2)`` float, ``gt_flow_valid`` ``(h, w)`` (all
    finite pixels when absent), and every ``meta_keys`` entry present.

    Returns ``inputs``: ``(6, H, W)`` uint8 tensor (frame 1 in channels 0-2,
    frame 2 in 3-5) and ``data_samples``: a ``SegDataSample`` with
    ``gt_flow`` = ``PixelData`` ``(2, h, w)`` float32 (NaN = unknown) and
    ``gt_flow_valid`` = ``PixelData`` ``(1, h, w)`` uint8 (0/1; training
    pads smaller windows with 0). The ground truth keeps its own size:
    Spring's 2x evaluation maps stay 2x, declared by ``gt_flow_scale`` (set
    by ``LoadFlowPair``; ``FlowMetric`` applies Spring's rule). Meta keys
    that are absent are skipped.

    Args:
        meta_keys: keys copied into the data sample's metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img1, img2 = results['img'], results['img2']
        if img1.shape != img2.shape or img1.ndim != 3 or img1.shape[2] != 3:
            raise ValueError('PackFlowInputs needs two (H, W, 3) frames of '
                             f'one size, got {img1.shape} and {img2.shape}')
        pair = np.concatenate([img1, img2], axis=2)  # H, W, 6
        inputs = torch.from_numpy(
            np.ascontiguousarray(pair.transpose(2, 0, 1)))  # 6, H, W
        sample = SegDataSample()
        if 'gt_flow' in results:
            flow = np.asarray(results['gt_flow'], np.float32)
            valid = results.get('gt_flow_valid')
            valid = (np.isfinite(flow).all(-1) if valid is None else
                     np.asarray(valid).astype(bool))
            sample.gt_flow = PixelData(data=torch.from_numpy(
                np.ascontiguousarray(flow.transpose(2, 0, 1))))  # 2, h, w
            sample.gt_flow_valid = PixelData(data=torch.from_numpy(
                valid[None].astype(np.uint8)))  # 1, h, w
        sample.set_metainfo({k: results[k] for k in self.meta_keys
                             if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
