"""FlowVisualizationHook: flow pictures during validation and test."""
import os.path as osp
import warnings
from typing import Optional, Sequence

import mmcv
from mmengine.fileio import get
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from mmseg.registry import HOOKS
from .flow_local_visualizer import FlowLocalVisualizer


@HOOKS.register_module()
class FlowVisualizationHook(Hook):
    """mmseg's ``SegVisualizationHook`` for optical flow.

    Validation: the first pair of every ``interval`` iterations is drawn;
    test: every pair (``tools/test.py --show-dir DIR`` sets ``draw=True``,
    ``interval=1`` and the visualizer's ``save_dir``). Frame 1 is read from
    ``img_path`` and handed with the output sample to the runner's
    :class:`FlowLocalVisualizer` (``visualizer=dict(type=
    'FlowLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])``);
    pictures land in ``save_dir/vis_data/vis_image/``.

    Args:
        draw: draw at all (False: the hook does nothing).
        interval: validation interval in iterations.
        show: display the pictures instead of storing them.
        wait_time: display time in seconds.
        backend_args: file backend arguments for reading frame 1.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 backend_args: Optional[dict] = None) -> None:
        visualizer = Visualizer.get_current_instance()
        if not isinstance(visualizer, FlowLocalVisualizer):
            raise TypeError(
                'FlowVisualizationHook draws with a FlowLocalVisualizer; set '
                "visualizer=dict(type='FlowLocalVisualizer', vis_backends=["
                f"dict(type='LocalVisBackend')]) (got {type(visualizer)})")
        self._visualizer: FlowLocalVisualizer = visualizer
        self.interval = interval
        self.show = show
        if show:  # display only: nothing is stored
            self._visualizer._vis_backends = {}
        self.wait_time = wait_time
        self.backend_args = None if backend_args is None else dict(
            backend_args)
        self.draw = draw
        self._test_index = 0
        if not draw:
            warnings.warn('FlowVisualizationHook(draw=False): no flow '
                          'pictures will be drawn or stored')

    @staticmethod
    def _name(img_path: str) -> str:
        # The sequence folder too: Sintel's frame names repeat per sequence.
        parent = osp.basename(osp.dirname(img_path))
        stem = osp.splitext(osp.basename(img_path))[0]
        return f'{parent}_{stem}' if parent else stem

    def _draw(self, sample, step: int) -> None:
        img = mmcv.imfrombytes(get(sample.img_path,
                                   backend_args=self.backend_args),
                               channel_order='rgb')
        self._visualizer.add_datasample(
            self._name(sample.img_path), img, data_sample=sample,
            show=self.show, wait_time=self.wait_time, step=step)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        """Draw the first pair of every ``interval``-th batch."""
        if self.draw and self.every_n_inner_iters(batch_idx, self.interval):
            self._draw(outputs[0], runner.iter + batch_idx)

    def after_test_iter(self, runner: Runner, batch_idx: int,
                        data_batch: dict, outputs: Sequence) -> None:
        """Draw every pair."""
        if not self.draw:
            return
        for sample in outputs:
            self._test_index += 1
            self._draw(sample, self._test_index)
