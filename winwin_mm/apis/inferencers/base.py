"""What the segmentation/depth and flow inferencers share: building from a
config + checkpoint or from an already built model, ``out_dir``, and the
batch loop that writes each batch's outputs at once and can skip unreadable
files."""
import os.path as osp
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.infer import BaseInferencer
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .common import build_model, stem

# What reading a bad input raises (common.read_image, frame-size checks).
READ_ERRORS = (OSError, ValueError)


def input_name(item) -> str:
    """A short name of an input for messages: its file name(s), else its
    type and shape."""
    if isinstance(item, str):
        return item
    if isinstance(item, (tuple, list)):
        return ' + '.join(input_name(x) for x in item)
    return f'{type(item).__name__} {getattr(item, "shape", "")}'.strip()


def check_output_names(items: list) -> None:
    """Refuse, before anything is written, inputs whose outputs would share
    a file name (``a/frame_0001.png`` and ``b/frame_0001.png``): the later
    one would overwrite the earlier. Outputs are named by the (first)
    input file's stem, as mmseg's inferencer names them."""
    seen: dict = {}
    for i, item in enumerate(items):
        first = item[0] if isinstance(item, (tuple, list)) else item
        name = stem(first if isinstance(first, str) else None, i)
        if name in seen and seen[name] != first:
            raise ValueError(
                f'{input_name(seen[name])} and {input_name(first)} would both '
                f'be written as "{name}" in out_dir: run them in separate '
                'calls with different out_dir (e.g. one per folder)')
        seen[name] = first


class WinWinBaseInferencer(BaseInferencer):
    """mmengine's ``BaseInferencer`` that also accepts a built model.

    Unlike mmengine's loop (all predictions, then all pictures, then all
    files), each batch is predicted, drawn and written before the next is
    read: files written before a later input fails stay on disk.

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
                 batch_size: int = 1, out_dir: str = '',
                 skip_errors: bool = False, **kwargs) -> dict:
        """Run on ``inputs``; with ``out_dir``, write predictions to
        ``out_dir/<pred_subdir>`` and pictures to ``out_dir/vis``, batch by
        batch. Other keywords: ``bf16`` (autocast), and those of
        :meth:`visualize` / :meth:`postprocess`.

        Args:
            skip_errors: an input that cannot be read (missing or
                undecodable file, frames of different sizes) is logged as a
                warning naming it and the reason, and the rest go on;
                ``False``: the error is raised (outputs of the batches
                before it stay written).

        Returns:
            ``predictions`` and ``visualization`` (of the inputs that ran,
            in order) and ``skipped``: ``[{'input': name, 'error': reason}]``.
        """
        if out_dir:
            kwargs.setdefault('vis_dir', osp.join(out_dir, 'vis'))
            kwargs.setdefault('pred_dir', osp.join(out_dir, self.pred_subdir))
        _, fwd_kw, vis_kw, post_kw = self._dispatch_kwargs(**kwargs)
        items = self._inputs_to_list(inputs)
        if out_dir:
            check_output_names(items)
        bar = ProgressBar(len(items)) if self.show_progress and items \
            else None
        preds: list = []
        vis: Optional[list] = None
        skipped: List[dict] = []
        for start in range(0, len(items), batch_size):
            loaded, kept, indices = [], [], []
            for index in range(start, min(start + batch_size, len(items))):
                try:
                    loaded.append(self.pipeline(items[index]))
                    kept.append(items[index])
                    indices.append(index)
                except READ_ERRORS as err:
                    if not skip_errors:
                        raise
                    skipped.append(dict(input=input_name(items[index]),
                                        error=str(err)))
                    print_log(f'skipped {skipped[-1]["input"]}: {err}',
                              'current', 30)  # logging.WARNING
            if loaded:
                out = self.forward(self.collate_fn(loaded), **fwd_kw)
                drawn = self.visualize(kept, out, indices=indices,
                                       **vis_kw)
                res = self.postprocess(out, drawn, return_datasamples,
                                       indices=indices, **post_kw)
                preds.extend(res['predictions'])
                if res['visualization'] is not None:
                    vis = (vis or []) + list(res['visualization'])
            if bar is not None:
                bar.update(min(batch_size, len(items) - start))
        if skipped:
            print_log(f'{len(skipped)} of {len(items)} input(s) skipped: '
                      + ', '.join(s['input'] for s in skipped), 'current',
                      30)
        return dict(predictions=preds, visualization=vis, skipped=skipped)

    def _init_model(self, cfg, weights, device) -> nn.Module:
        if self._built is not None:
            return build_model(self._built, None, device)
        return build_model(cfg, weights, device)
