"""Segmentation and depth inference on images, lists and folders."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmseg.structures import SegDataSample

from .base import WinWinBaseInferencer
from .common import ImageLike, read_image, stem, test_step


class WinWinSegInferencer(WinWinBaseInferencer):
    """One-pass segmentation or depth inference with a Win-Win model, built
    on mmengine's ``BaseInferencer`` (as mmseg's ``MMSegInferencer``).

    Any input size works: the model's data preprocessor pads to its
    ``test_cfg.size_divisor`` and ``postprocess_result`` crops back to the
    input size (docs/design.md, section 6a).

    Args:
        model: config file, ``Config`` or an already built model.
        weights: checkpoint file (``None``: the model's current weights).
        device: ``'cpu'``, ``'cuda:0'``, ...
        show_progress: show a progress bar (work done, time left).
        memory_limit: bytes an input may need (default: the device's free
            memory); larger inputs raise ``InferenceMemoryError``.

    Example:
        >>> inf = WinWinSegInferencer('configs/winwin/winwin_vit-t16-rope_'
        ...     '1xb8-500_synthetic-640x352.py', 'work_dirs/demo/iter_500.pth')
        >>> out = inf('street.png', out_dir='out', bf16=True)
        >>> out['predictions'][0].shape   # (H, W) label map
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = {'bf16'}
    visualize_kwargs: set = {'vis_dir', 'opacity'}
    pred_subdir = 'pred'
    postprocess_kwargs: set = {'pred_dir', 'pred_format'}

    def _init_pipeline(self, cfg):
        def load(item: ImageLike) -> dict:
            img = read_image(item)
            H, W = img.shape[:2]
            meta = dict(ori_shape=(H, W), img_shape=(H, W))
            if isinstance(item, str):
                meta['img_path'] = item
            inputs = torch.from_numpy(
                np.ascontiguousarray(img.transpose(2, 0, 1)))  # 3, H, W
            return dict(inputs=inputs,
                        data_samples=SegDataSample(metainfo=meta))
        return load

    def _init_visualizer(self, cfg):
        return None  # drawn with numpy / OpenCV in ``visualize``

    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, str) and osp.isdir(inputs):
            exts = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
            return sorted(osp.join(inputs, f) for f in os.listdir(inputs)
                          if f.lower().endswith(exts))
        return super()._inputs_to_list(inputs)

    def forward(self, inputs: dict, bf16: bool = False) -> list:
        return test_step(self.model, inputs, bf16, self._device,
                         self.memory_limit)

    @staticmethod
    def _pred(sample: SegDataSample) -> np.ndarray:
        """``(H, W)`` int64 labels or float32 depth."""
        if 'pred_depth_map' in sample:
            return sample.pred_depth_map.data[0].float().cpu().numpy()
        return sample.pred_sem_seg.data[0].cpu().numpy()

    def visualize(self, inputs: list, preds: List[SegDataSample],
                  vis_dir: str = '', opacity: float = 0.5,
                  indices: Optional[Sequence[int]] = None
                  ) -> Optional[List[np.ndarray]]:
        """Palette overlay (segmentation) or depth colour map next to the
        image (depth), BGR uint8; written to ``out_dir/vis`` if given
        (arrays named by their ``indices`` in the call's inputs)."""
        if not vis_dir:
            return None
        meta = getattr(self.model, 'dataset_meta', None) or {}
        vis = []
        indices = indices or range(len(inputs))
        for i, item, sample in zip(indices, inputs, preds):
            img = read_image(item)
            pred = self._pred(sample)
            if 'pred_depth_map' in sample:
                d = pred - pred.min()
                d = (255 * d / max(float(d.max()), 1e-6)).astype(np.uint8)
                drawn = np.concatenate(
                    [img, cv2.applyColorMap(d, cv2.COLORMAP_MAGMA)], axis=1)
            else:
                palette = meta.get('palette') or np.random.RandomState(
                    0).randint(0, 255, (256, 3)).tolist()
                colour = np.asarray(palette, np.uint8)[pred % len(palette)]
                drawn = (img * (1 - opacity)
                         + colour[..., ::-1] * opacity).astype(np.uint8)
            mmcv.imwrite(drawn, osp.join(vis_dir,
                                         stem(item, i) + '.png'))
            vis.append(drawn)
        return vis

    def postprocess(self, preds: List[SegDataSample], visualization,
                    return_datasamples: bool = False, pred_dir: str = '',
                    pred_format: str = 'png',
                    indices: Optional[Sequence[int]] = None) -> dict:
        """``predictions``: ``(H, W)`` arrays (or the data samples);
        written to ``out_dir/pred`` as PNG labels / 16-bit depth in
        millimetres (``pred_format='png'``) or ``.npy``."""
        if pred_format not in ('png', 'npy'):
            raise ValueError(f"pred_format must be 'png' or 'npy', got "
                             f'{pred_format!r}')
        arrays = [self._pred(s) for s in preds]
        if pred_dir:
            for i, s, a in zip(indices or range(len(preds)), preds, arrays):
                name = osp.join(pred_dir,
                                stem(s.metainfo.get('img_path'), i))
                if pred_format == 'npy':
                    os.makedirs(osp.dirname(name), exist_ok=True)
                    np.save(name + '.npy', a)
                elif a.dtype.kind == 'f':
                    mmcv.imwrite(np.clip(a * 1000, 0, 65535).astype(
                        np.uint16), name + '.png')
                else:
                    mmcv.imwrite(a.astype(np.uint8), name + '.png')
        return dict(predictions=preds if return_datasamples else arrays,
                    visualization=visualization)
