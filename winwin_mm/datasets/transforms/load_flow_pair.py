"""LoadFlowPair: load both frames of a flow sample and its ground truth."""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from ..flow.io import read_flow


@TRANSFORMS.register_module()
class LoadFlowPair(BaseTransform):
    """Load frame 1, frame 2 and, when the sample has one, the flow.

    Required keys: ``img_path``, ``img2_path``, ``flow_path`` (optional;
    None for a sample without ground truth).

    Added keys:

    - ``img``, ``img2``: (H, W, 3) uint8 BGR;
    - ``img_shape``, ``ori_shape``: ``(H, W)`` of frame 1;
    - ``gt_flow``: (H', W', 2) float32 ``(u, v)`` in pixels, NaN where
      invalid; ``gt_flow_valid``: (H', W') bool (only with a ``flow_path``);
    - ``flow_fields``: a list naming the per-pixel ground-truth maps
      (``gt_flow``, ``gt_flow_valid``) for the geometric transforms.

    The ground truth has the image's size except where the dataset
    declares ``gt_flow_scale = k > 1`` in the sample (Spring: 2; each image
    pixel has k x k sub-pixel ground truths, in pixels of the image). It is
    checked to be exactly k times the image and kept as is for evaluation
    (Spring's metric takes the best sub-pixel); for training,
    ``gt_to_image_size=True`` keeps the top-left sub-pixel of each pixel
    (``gt[::k, ::k]``, as Spring's own loader), values unchanged, and sets
    ``gt_flow_scale`` to 1. Added key: ``gt_flow_scale`` (int).

    Args:
        gt_to_image_size: Bring ground truth declared at k x the image
            (``gt_flow_scale``) to the image size (see above).
        imdecode_backend: The ``mmcv.imfrombytes`` backend.
        backend_args: Arguments of the mmengine file backend of the images
            (flow files are read from local disk).
    """

    def __init__(self,
                 gt_to_image_size: bool = False,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.gt_to_image_size = gt_to_image_size
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _load_image(self, path: str) -> np.ndarray:
        img = mmcv.imfrombytes(
            fileio.get(path, backend_args=self.backend_args), flag='color',
            channel_order='bgr', backend=self.imdecode_backend)
        if img is None:
            raise ValueError(f'{path}: cannot be decoded as an image')
        if img.dtype != np.uint8:
            raise ValueError(f'{path}: {img.dtype} image, expected 8-bit')
        return img

    def transform(self, results: dict) -> dict:
        img = self._load_image(results['img_path'])
        img2 = self._load_image(results['img2_path'])
        if img.shape != img2.shape:
            raise ValueError(
                f'{results["img_path"]} is {img.shape[0]}x{img.shape[1]} but '
                f'{results["img2_path"]} is {img2.shape[0]}x{img2.shape[1]}')
        results['img'], results['img2'] = img, img2
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        fields = results.setdefault('flow_fields', [])
        path = results.get('flow_path')
        if path is None:
            return results
        flow, valid = read_flow(path)
        (h, w), (gh, gw) = img.shape[:2], flow.shape[:2]
        k = int(results.get('gt_flow_scale', 1))
        if (gh, gw) != (k * h, k * w):
            raise ValueError(
                f'{path}: ground truth of {gh}x{gw} pixels is not '
                f'gt_flow_scale={k} times the {h}x{w} frame '
                f'{results["img_path"]} (a dataset whose ground truth is at '
                f'k x the frame declares gt_flow_scale=k in its samples)')
        if self.gt_to_image_size and k > 1:
            # One sub-pixel per pixel; the values are already in image pixels.
            flow = np.ascontiguousarray(flow[::k, ::k])
            valid = np.ascontiguousarray(valid[::k, ::k])
            k = 1
        results['gt_flow_scale'] = k
        results['gt_flow'], results['gt_flow_valid'] = flow, valid
        for key in ('gt_flow', 'gt_flow_valid'):
            if key not in fields:
                fields.append(key)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(gt_to_image_size='
                f'{self.gt_to_image_size}, imdecode_backend='
                f'{self.imdecode_backend!r}, backend_args='
                f'{self.backend_args})')
