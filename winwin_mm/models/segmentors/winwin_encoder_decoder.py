"""Encoder-decoder that trains on windows and predicts whole images."""
from typing import Dict, List, Optional

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from .winwin_mixin import WinWinMixin


@MODELS.register_module()
class WinWinEncoderDecoder(WinWinMixin, EncoderDecoder):
    """mmseg ``EncoderDecoder`` for Win-Win training.

    Training: the window boxes (``data_sample.metainfo['windows']``, added by
    ``RandomWindows`` and kept by ``PackSegInputs(meta_keys=(..., 'windows'))``)
    go to the backbone, which returns one map per window folded into the
    batch; the ground truth is cropped to the same windows, so the decode and
    auxiliary heads, their losses and metrics are the stock mmseg ones.
    ``train_cfg=dict(whole_image=True)`` trains on whole images (the
    full-resolution baseline). See :class:`WinWinMixin`.

    Test: ``test_cfg.mode='whole'`` runs the full image in one forward pass
    (padded to the backbone's ``size_divisor`` and cropped back); ``'slide'``
    is mmseg's tiling, kept as the baseline.

    Takes the same arguments as mmseg's ``EncoderDecoder``.
    """

    # Labels pad with the decode head's ignore index, edges alike.
    gt_fields: Dict[str, Optional[float]] = {
        'gt_sem_seg': None, 'gt_edge_map': None}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_test_padding()

    def extract_feat(self, inputs: Tensor,
                     windows: Optional[List[Tensor]] = None) -> List[Tensor]:
        """mmseg's ``extract_feat`` with optional windows, ``(B*K, C, h,
        w)`` maps (see :meth:`WinWinMixin.extract_window_feat`)."""
        return self.extract_window_feat(inputs, windows)
