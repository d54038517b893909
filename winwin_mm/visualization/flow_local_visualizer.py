"""FlowLocalVisualizer: one picture per pair: frame 1 | GT | pred | EPE."""
from typing import Dict, List, Optional

import cv2
import mmcv
import numpy as np
from mmengine.visualization import Visualizer

from mmseg.registry import VISUALIZERS
from ..evaluation.metrics.flow_errors import flow_epe_map
from ..models.losses import flow_valid_mask


def flow_to_rgb(flow: np.ndarray, max_norm: float) -> np.ndarray:
    """Middlebury colours of ``(H, W, 2)`` flow with a fixed scale.

    ``mmcv.flow2rgb`` scales by the largest vector of its input; vectors are
    clamped to ``max_norm`` and one sentinel vector of exactly that length is
    appended, so several maps share one scale (colours saturate at
    ``max_norm``). Zero flow is white; NaN (unknown) is black.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    flow = np.asarray(flow, np.float32)
    if max_norm > 0:
        norm = np.linalg.norm(np.nan_to_num(flow), axis=-1, keepdims=True)
        flow = flow * np.minimum(1., max_norm / np.maximum(norm, 1e-12))
        sentinel = np.zeros((flow.shape[0], 1, 2), np.float32)
        sentinel[..., 0] = max_norm
        flow = np.concatenate([flow, sentinel], axis=1)
    rgb = mmcv.flow2rgb(flow)[:, :flow.shape[1] - (max_norm > 0)]
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def error_to_rgb(epe: np.ndarray, valid: np.ndarray, max_err: float,
                 colormap: int = cv2.COLORMAP_INFERNO) -> np.ndarray:
    """``(H, W)`` end-point errors in a colormap over ``[0, max_err]``
    (cv2, e.g. inferno: black = 0, yellow = ``max_err`` or more); invalid
    pixels black. Returns ``(H, W, 3)`` uint8 RGB."""
    scaled = np.clip(epe / max(max_err, 1e-12), 0, 1) * 255
    bgr = cv2.applyColorMap(scaled.astype(np.uint8), colormap)
    bgr[~valid] = 0
    return bgr[..., ::-1].copy()


@VISUALIZERS.register_module()
class FlowLocalVisualizer(Visualizer):
    """Draws an optical-flow prediction as one image of side-by-side panels.

    Panels, each at frame 1's size: frame 1 | ground-truth flow | predicted
    flow | end-point-error map. Both flows share one colour scale (the
    largest valid ground-truth norm, or the prediction's largest without
    ground truth; Middlebury colours from ``mmcv.flow2rgb``, zero flow is
    white, unknown black). The error map is a colormap over ``[0,
    max_error]`` (the largest error of the pair unless ``max_error`` is
    set). Without ground truth (or ``draw_gt=False``) only frame 1 |
    prediction are drawn. Spring's 2x ground truth (``gt_flow_scale=2`` in
    the metainfo) is shown subsampled and its error follows Spring's rule
    (:func:`flow_epe_map`).

    Args:
        name: instance name.
        image: initial image.
        vis_backends: e.g. ``[dict(type='LocalVisBackend')]``.
        save_dir: where the backends save.
        max_error: fixed top of the EPE colour scale (pixels), or None.
        colormap: cv2 colormap id of the EPE map.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[Dict]] = None,
                 save_dir: Optional[str] = None,
                 max_error: Optional[float] = None,
                 colormap: int = cv2.COLORMAP_INFERNO,
                 **kwargs) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir, **kwargs)
        self.max_error = max_error
        self.colormap = colormap

    def draw_flow_panels(self, image: np.ndarray, data_sample,
                         draw_gt: bool = True) -> np.ndarray:
        """``(H, k * W, 3)`` uint8 RGB panels of one pair (k = 4 or 2)."""
        H, W = image.shape[:2]
        pred = data_sample.pred_flow.data.detach().cpu().float()  # 2, h, w
        panels = [image]
        has_gt = draw_gt and 'gt_flow' in data_sample
        if has_gt:
            gt = data_sample.gt_flow.data.cpu().float()  # 2, H', W'
            valid = (data_sample.gt_flow_valid.data.cpu()
                     if 'gt_flow_valid' in data_sample else None)
            step = int(data_sample.metainfo.get('gt_flow_scale', 1))
            epe, _, mask = flow_epe_map(pred, gt, valid,
                                        gt_scale=step)  # h, w
            known = flow_valid_mask(gt[None], None if valid is None else
                                    valid[None])[0]  # H', W'
            gt_show = gt[:, ::step, ::step].permute(1, 2, 0).numpy().copy()
            known = known[::step, ::step].numpy()
            gt_show[~known] = np.nan  # unknown -> black
            scale = float(np.linalg.norm(gt_show[known], axis=-1).max()) \
                if known.any() else 0.
            panels.append(flow_to_rgb(gt_show, scale))
        pred_np = pred.permute(1, 2, 0).numpy()
        if not has_gt or scale == 0:
            scale = float(np.linalg.norm(pred_np, axis=-1).max())
        panels.append(flow_to_rgb(pred_np, scale))
        if has_gt:
            top = self.max_error
            if top is None:
                top = float(epe[mask].max()) if mask.any() else 1.
            panels.append(error_to_rgb(epe.numpy(), mask.numpy(), top,
                                       self.colormap))
        panels = [p if p.shape[:2] == (H, W) else
                  mmcv.imresize(p, (W, H), interpolation='nearest')
                  for p in panels]
        return np.concatenate(panels, axis=1)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> None:
        """Draw the panels of one pair; show, write ``out_file`` (BGR on
        disk), or hand them to the vis backends under ``name``.

        Args:
            name: image name (backends save ``{name}_{step}.png``).
            image: frame 1, ``(H, W, 3)`` RGB uint8.
            data_sample: a sample with ``pred_flow`` (and ``gt_flow``,
                ``gt_flow_valid``); None draws frame 1 only.
            draw_gt: draw the ground truth and the error map.
            draw_pred: draw the prediction (False: frame 1 only).
            show: display the picture.
            wait_time: display time in seconds.
            out_file: write the picture there instead of the backends.
            step: global step for the backends.
        """
        if data_sample is not None and draw_pred and \
                'pred_flow' in data_sample:
            drawn = self.draw_flow_panels(image, data_sample, draw_gt)
        else:
            drawn = image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
