"""Optical flow of one image pair with a Win-Win flow model."""
from typing import Tuple, Union

import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmseg.structures import SegDataSample

ImageLike = Union[str, np.ndarray]


def _load(img: ImageLike) -> np.ndarray:
    """``H x W x 3`` uint8 BGR, as mmcv's loaders give it."""
    if isinstance(img, str):
        return mmcv.imread(img, channel_order='bgr')
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an H x W x 3 image, got {img.shape}')
    return img


@torch.no_grad()
def inference_flow(model: nn.Module, img1: ImageLike, img2: ImageLike
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Flow from ``img1`` to ``img2`` in one forward pass over the whole
    frames (or the model's ``test_cfg.mode``), for images of any size.

    Args:
        model: a ``WinWinFlowEstimator`` (e.g. from ``init_model``).
        img1, img2: file paths or ``H x W x 3`` uint8 BGR arrays (as
            ``mmcv.imread``) of the same size.

    Returns:
        ``flow`` ``(H, W, 2)`` float32 (u, v) in pixels and ``confidence``
        ``(H, W)`` float32 (the raw confidence channel: larger = less
        certain).
    """
    a, b = _load(img1), _load(img2)
    if a.shape != b.shape:
        raise ValueError(f'the two frames differ in size: {a.shape} vs '
                         f'{b.shape}')
    pair = torch.from_numpy(np.ascontiguousarray(
        np.concatenate([a, b], axis=2).transpose(2, 0, 1)))  # 6, H, W
    H, W = a.shape[:2]
    sample = SegDataSample(metainfo=dict(ori_shape=(H, W), img_shape=(H, W)))
    was_training = model.training
    model.eval()
    try:
        result = model.test_step(dict(inputs=[pair], data_samples=[sample]))
    finally:
        model.train(was_training)
    flow = result[0].pred_flow.data.permute(1, 2, 0).float().cpu().numpy()
    conf = result[0].pred_flow_conf.data[0].float().cpu().numpy()
    return flow.astype(np.float32), conf.astype(np.float32)
