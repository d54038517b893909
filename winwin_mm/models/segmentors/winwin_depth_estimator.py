"""Depth estimator that trains on windows and predicts whole images."""
from typing import Dict, List, Optional

from mmseg.models.segmentors import DepthEstimator, EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from .winwin_mixin import WinWinMixin


@MODELS.register_module()
class WinWinDepthEstimator(WinWinMixin, DepthEstimator):
    """mmseg ``DepthEstimator`` for Win-Win training.

    Training (:class:`WinWinMixin`): the backbone sees only the windows of
    ``data_sample.metainfo['windows']`` (from ``RandomWindows``),
    ``gt_depth_map`` is cropped to each window (smaller windows padded with
    0 = invalid depth) and a depth head (``ConvNeXtDepthHead``,
    ``WinDPTDepthHead``, ...) computes its loss per window.

    Test: ``predict`` is mmseg's ``DepthEstimator.predict`` (padding removal,
    flip, bilinear resize to ``ori_shape``, ``pred_depth_map``) on top of
    :meth:`inference`, which dispatches on ``test_cfg.mode``:

    - ``'whole'``: the full image in one forward pass (Win-Win);
    - ``'slide'``: tiles of ``crop_size`` every ``stride``, depths averaged
      where they overlap (the tiling baseline; mmseg's ``DepthEstimator``
      tiles, then overwrites the result with a whole-image pass);
    - ``'slide_flip'``: mmseg's tiling with horizontal-flip averaging.

    Full-resolution baseline: ``train_cfg=dict(whole_image=True)`` trains on
    whole images (no ``RandomWindows`` in the pipeline) and refuses samples
    that carry windows.

    Example::

        model = dict(
            type='WinWinDepthEstimator',
            backbone=dict(type='RoPEVisionTransformer', arch='b'),
            decode_head=dict(type='ConvNeXtDepthHead', in_channels=768,
                             max_depth=10.),
            test_cfg=dict(mode='whole'))
        # tiling: test_cfg=dict(mode='slide', crop_size=(224, 224),
        #                       stride=(160, 160))

    Takes the same arguments as mmseg's ``DepthEstimator`` (whose
    ``extract_feat(inputs, metas)`` stays as it is: the window path uses
    ``extract_window_feat``).
    """

    # 0 = invalid depth: padding never enters the loss.
    gt_fields: Dict[str, Optional[float]] = {'gt_depth_map': 0.}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_test_padding()

    def inference(self, inputs: Tensor,
                  batch_img_metas: List[dict]) -> Tensor:
        """Depth ``(B, 1, H, W)`` of padded inputs ``(B, 3, H, W)``.

        Args:
            inputs (Tensor): Normalised images.
            batch_img_metas (list[dict]): Their metainfo.

        Returns:
            Tensor: Depth in metres, before ``postprocess_result``.
        """
        mode = (self.test_cfg or {}).get('mode', 'whole')
        if mode == 'whole':
            return self.whole_inference(inputs, batch_img_metas)
        if mode == 'slide':
            # EncoderDecoder's tiling is generic in ``self.out_channels``
            # (1 here) and averages overlaps: exactly what depth needs.
            return EncoderDecoder.slide_inference(self, inputs,
                                                  batch_img_metas)
        if mode == 'slide_flip':
            return self.slide_flip_inference(inputs, batch_img_metas)
        raise ValueError(f'test_cfg.mode must be "whole", "slide" or '
                         f'"slide_flip", got {mode!r}')
