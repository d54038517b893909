"""Geometric pair transforms for optical flow: scale/stretch, crop, flip.

Each moves both frames and the ground truth together and keeps the flow
consistent with the pixels: resizing by ``(fx, fy)`` multiplies ``(u, v)``
by ``(fx, fy)``, a horizontal flip negates ``u``, a vertical flip ``v``.
CroCo-Flow's augmentation (RAFT's ``FlowAugmentor``) is
``FlowRandomScale(crop_size=(320, 384))`` -> ``FlowRandomCrop((320, 384))``
-> ``FlowRandomFlip(0.5, 0.1)``.

Common keys. Required: ``img``, ``img2`` ``(H, W, 3)``; optional:
``gt_flow`` ``(H, W, 2)`` float32 (NaN = unknown) and ``gt_flow_valid``
``(H, W)`` bool, at the size of the frames (Spring: load with
``LoadFlowPair(gt_to_image_size=True)`` for training). Modified:
``img``, ``img2``, ``gt_flow``, ``gt_flow_valid``, ``img_shape``.
"""
import math
from typing import Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from .flow_resize import resize_flow, resize_sparse_flow


def pair_hw(results: dict, who: str) -> Tuple[int, int]:
    """``(H, W)`` of the pair; a clear error when frames and GT disagree."""
    h, w = results['img'].shape[:2]
    if results['img2'].shape[:2] != (h, w):
        raise ValueError(f'{who}: the frames differ in size '
                         f'({results["img"].shape[:2]} vs '
                         f'{results["img2"].shape[:2]})')
    if 'gt_flow' in results and results['gt_flow'].shape[:2] != (h, w):
        raise ValueError(
            f'{who}: gt_flow is {results["gt_flow"].shape[:2]} but the frames '
            f'are {(h, w)}; geometric transforms need the ground truth at the '
            'image size (Spring: LoadFlowPair(gt_to_image_size=True))')
    return h, w


@TRANSFORMS.register_module()
class FlowRandomScale(BaseTransform):
    """Random scale and per-axis stretch of a pair and its flow.

    With probability ``scale_prob`` the pair is resized by
    ``s = 2 ** U(*scale_range)``; with probability ``stretch_prob`` each axis
    is then multiplied by its own ``2 ** U(-max_stretch, max_stretch)``.
    Each factor is raised to at least ``max((ch + margin) / H, (cw + margin)
    / W)`` so a ``crop_size`` crop fits afterwards (also when no scale is
    drawn). Frames are resized bilinearly; dense flow bilinearly over valid
    pixels only (:func:`resize_flow`), sparse flow (``sparse=True``, KITTI) by
    scattering each measured vector to its nearest target pixel
    (:func:`resize_sparse_flow`). ``(u, v)`` is multiplied by the actual
    ``(new_W / W, new_H / H)``.

    Added keys: ``scale_factor`` ``(fx, fy)`` (cumulative).

    Args:
        crop_size: ``(h, w)`` of the crop that follows, in pixels.
        scale_range: ``(lo, hi)`` of ``log2(s)``.
        scale_prob: probability of drawing a scale at all.
        stretch_prob: probability of the extra per-axis stretch.
        max_stretch: largest ``|log2|`` of the stretch per axis.
        margin: extra pixels beyond the crop the resized pair keeps.
        sparse: the ground truth is sparse (KITTI): scatter, never blend.
    """

    def __init__(self,
                 crop_size: Sequence[int],
                 scale_range: Sequence[float] = (-0.2, 0.5),
                 scale_prob: float = 0.8,
                 stretch_prob: float = 0.8,
                 max_stretch: float = 0.2,
                 margin: int = 8,
                 sparse: bool = False) -> None:
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        lo, hi = scale_range
        if lo > hi:
            raise ValueError(
                f'scale_range must be (lo, hi), got {scale_range}')
        self.scale_range = (float(lo), float(hi))
        self.scale_prob = float(scale_prob)
        self.stretch_prob = float(stretch_prob)
        self.max_stretch = float(max_stretch)
        self.margin = int(margin)
        self.sparse = bool(sparse)

    def _factors(self, h: int, w: int) -> Tuple[float, float]:
        ch, cw = self.crop_size
        min_scale = max((ch + self.margin) / h, (cw + self.margin) / w)
        fx = fy = 1.0
        if np.random.rand() < self.scale_prob:
            fx = fy = 2**np.random.uniform(*self.scale_range)
            if np.random.rand() < self.stretch_prob:
                fx *= 2**np.random.uniform(-self.max_stretch, self.max_stretch)
                fy *= 2**np.random.uniform(-self.max_stretch, self.max_stretch)
        return max(fx, min_scale), max(fy, min_scale)

    def transform(self, results: dict) -> dict:
        h, w = pair_hw(results, type(self).__name__)
        fx, fy = self._factors(h, w)
        nh = max(1, math.floor(h * fy + 0.5))  # half-up rounding
        nw = max(1, math.floor(w * fx + 0.5))
        if (nh, nw) == (h, w):
            return results
        for key in ('img', 'img2'):
            results[key] = mmcv.imresize(results[key], (nw, nh),
                                         interpolation='bilinear')
        if 'gt_flow' in results:
            resize = resize_sparse_flow if self.sparse else resize_flow
            results['gt_flow'], results['gt_flow_valid'] = resize(
                results['gt_flow'], results.get('gt_flow_valid'), (nh, nw))
        sx, sy = results.get('scale_factor', (1.0, 1.0))[:2]
        results['scale_factor'] = (sx * nw / w, sy * nh / h)
        results['img_shape'] = (nh, nw)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'scale_range={self.scale_range}, '
                f'scale_prob={self.scale_prob}, '
                f'stretch_prob={self.stretch_prob}, '
                f'max_stretch={self.max_stretch}, margin={self.margin}, '
                f'sparse={self.sparse})')


@TRANSFORMS.register_module()
class FlowRandomCrop(BaseTransform):
    """Crop the same random ``crop_size`` window out of both frames and GT.

    Args:
        crop_size: ``(h, w)`` in pixels; the pair must be at least this
            large (put ``FlowRandomScale(crop_size=...)`` before).
    """

    def __init__(self, crop_size: Sequence[int]) -> None:
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))

    def transform(self, results: dict) -> dict:
        h, w = pair_hw(results, type(self).__name__)
        ch, cw = self.crop_size
        if h < ch or w < cw:
            raise ValueError(
                f'FlowRandomCrop: the pair is {h}x{w} px, smaller than the '
                f'{ch}x{cw} crop; put FlowRandomScale(crop_size={(ch, cw)}) '
                'before it')
        y = np.random.randint(h - ch + 1)
        x = np.random.randint(w - cw + 1)
        for key in ('img', 'img2', 'gt_flow', 'gt_flow_valid'):
            if key in results:
                results[key] = np.ascontiguousarray(
                    results[key][y:y + ch, x:x + cw])
        results['img_shape'] = (ch, cw)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class FlowRandomFlip(BaseTransform):
    """Random horizontal / vertical flips of a pair and its flow.

    A horizontal flip mirrors both frames and the GT left-right and negates
    ``u``; a vertical flip mirrors top-bottom and negates ``v``. Each has
    its own probability (CroCo-Flow: 0.5 and 0.1).

    Added keys: ``flip`` (bool), ``flip_direction`` (``'horizontal'``,
    ``'vertical'``, ``'diagonal'`` for both, or None).

    Args:
        hflip_prob: probability of a horizontal flip.
        vflip_prob: probability of a vertical flip.
    """

    def __init__(self, hflip_prob: float = 0.5,
                 vflip_prob: float = 0.1) -> None:
        self.hflip_prob = float(hflip_prob)
        self.vflip_prob = float(vflip_prob)

    def transform(self, results: dict) -> dict:
        pair_hw(results, type(self).__name__)
        hflip = np.random.rand() < self.hflip_prob
        vflip = np.random.rand() < self.vflip_prob
        for axis, flip, comp in ((1, hflip, 0), (0, vflip, 1)):
            if not flip:
                continue
            for key in ('img', 'img2', 'gt_flow', 'gt_flow_valid'):
                if key in results:
                    results[key] = np.ascontiguousarray(
                        np.flip(results[key], axis=axis))
            if 'gt_flow' in results:
                results['gt_flow'][..., comp] *= -1  # u (x) or v (y)
        results['flip'] = bool(hflip or vflip)
        results['flip_direction'] = (
            'diagonal' if hflip and vflip else 'horizontal' if hflip else
            'vertical' if vflip else None)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(hflip_prob={self.hflip_prob}, '
                f'vflip_prob={self.vflip_prob})')
