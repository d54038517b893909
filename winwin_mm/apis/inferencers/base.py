"""What the segmentation/depth and flow inferencers share: building from a
config + checkpoint or from an already built model, and ``out_dir``."""
import os.path as osp
from typing import Optional, Union

import torch.nn as nn
from mmengine.infer import BaseInferencer

from .common import build_model


class WinWinBaseInferencer(BaseInferencer):
    """mmengine's ``BaseInferencer`` that also accepts a built model.

    Args:
        model: config file, ``Config`` or an already built model.
        weights: checkpoint file (``None``: the model's current weights).
        device: ``'cpu'``, ``'cuda:0'``, ...
        show_progress: show a progress bar (work done, time left).
        memory_limit: bytes an input may need (default: the device's free
            memory); larger inputs raise ``InferenceMemoryError``.
    """
    pred_subdir = 'pred'  # predictions go to out_dir/pred_subdir

    def __init__(self,
                 model: Union[str, dict, nn.Module],
                 weights: Optional[str] = None,
                 device: str = 'cpu',
                 show_progress: bool = True,
                 memory_limit: Optional[int] = None) -> None:
        self._device = device
        self.memory_limit = memory_limit
        self._built = model if isinstance(model, nn.Module) else None
        if self._built is not None:
            cfg = getattr(model, 'cfg', None) or {}
            super().__init__(dict(cfg), None, device, 'mmseg', show_progress)
        else:
            super().__init__(model, weights, device, 'mmseg', show_progress)

    def __call__(self, inputs, return_datasamples: bool = False,
                 batch_size: int = 1, out_dir: str = '', **kwargs) -> dict:
        """Run on ``inputs``; with ``out_dir``, write predictions to
        ``out_dir/<pred_subdir>`` and pictures to ``out_dir/vis``. Other
        keywords: ``bf16`` (autocast), and those of :meth:`visualize` /
        :meth:`postprocess`."""
        if out_dir:
            kwargs.setdefault('vis_dir', osp.join(out_dir, 'vis'))
            kwargs.setdefault('pred_dir', osp.join(out_dir, self.pred_subdir))
        return super().__call__(inputs, return_datasamples, batch_size,
                                **kwargs)

    def _init_model(self, cfg, weights, device) -> nn.Module:
        if self._built is not None:
            return build_model(self._built, None, device)
        return build_model(cfg, weights, device)
