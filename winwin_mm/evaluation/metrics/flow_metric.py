"""FlowMetric: optical-flow errors over a dataset, pixel-weighted."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from prettytable import PrettyTable

from mmseg.registry import METRICS
from .flow_errors import SPEED_BINS, flow_error_sums


@METRICS.register_module()
class FlowMetric(BaseMetric):
    """EPE, outlier rates, KITTI Fl and speed-binned EPE of optical flow.

    Reads ``pred_flow`` ``(2, h, w)`` (set by ``WinWinFlowEstimator.predict``
    at ``ori_shape``) and ``gt_flow`` / ``gt_flow_valid`` from each data
    sample. Only valid pixels count (finite, inside ``gt_flow_valid``,
    ``||gt|| < max_flow``), and every number is pixel-weighted over the
    whole dataset: sums and counts are accumulated per pair and divided at
    the end. The prediction must have the frame's size, and the ground truth
    ``gt_flow_scale`` (metainfo, default 1) times it: Spring declares 2 and
    its rule applies (per pixel, the smallest error over its 4 sub-pixels;
    see :func:`flow_epe_map`). No size is guessed: any other ground truth
    size is an error naming both sizes.

    Metrics: ``EPE``; ``bad{t}`` = % of pixels with EPE > t for each of
    ``thresholds`` (``bad0.5``, ``bad1``, ``bad3``, ``bad5``); ``Fl`` = % of
    KITTI outliers (EPE > 3 px and > 5 % of ``||gt||``); ``s0-10``,
    ``s10-40``, ``s40+`` = EPE of pixels with ``||gt||`` in ``[0, 10)``,
    ``[10, 40)``, ``[40, inf)`` (NaN when a bin is empty).

    Args:
        thresholds: outlier thresholds in pixels.
        max_flow: ground truth with a norm at or above this is ignored.
        output_dir: write each prediction as a ``.flo`` file (``mmcv.
            flowwrite``) named after the frame-1 image path: its last
            ``name_depth`` components with the extension replaced (2:
            ``alley_1/frame_0001.flo``). Two pairs of one evaluation that
            map to the same file are an error (nothing is overwritten).
        name_depth: path components of the frame-1 image kept in the
            ``.flo`` name. A set with both Sintel passes needs 3
            (``clean/alley_1/frame_0001.flo``, the pass/scene/frame layout
            of Sintel's submission bundler); Spring: 3
            (``0001/frame_left/frame_left_0001``).
        format_only: only write the predictions (no ground truth needed).
        keep_results: accepted for ``tools/test.py --out`` (the ``.flo``
            files are always kept).
        collect_device: ``'cpu'`` or ``'gpu'`` for distributed collection.
        prefix: metric name prefix.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 thresholds: Sequence[float] = (0.5, 1., 3., 5.),
                 max_flow: float = 1e4,
                 output_dir: Optional[str] = None,
                 name_depth: int = 2,
                 format_only: bool = False,
                 keep_results: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and not output_dir:
            raise ValueError('FlowMetric(format_only=True) writes the '
                             'predictions only: give output_dir')
        if name_depth < 1:
            raise ValueError(f'name_depth must be >= 1, got {name_depth}')
        self.thresholds = tuple(float(t) for t in thresholds)
        self.max_flow = float(max_flow)
        self.output_dir = output_dir
        self.name_depth = int(name_depth)
        self.format_only = format_only
        self.keep_results = keep_results
        if output_dir and is_main_process():
            mkdir_or_exist(output_dir)
        # .flo path -> frame 1 of the pair written there, this evaluation.
        self._written: Dict[str, str] = {}

    def flo_path(self, img_path: str) -> str:
        """Where the prediction of the pair with frame 1 ``img_path`` goes."""
        parts = osp.normpath(img_path).split(osp.sep)[-self.name_depth:]
        return osp.join(self.output_dir,
                        *parts[:-1], osp.splitext(parts[-1])[0] + '.flo')

    def _claim(self, img_path: str) -> str:
        """:meth:`flo_path`, refused when another pair of this evaluation
        already wrote there (e.g. Sintel clean and final with
        ``name_depth=2``): one prediction would silently replace the
        other."""
        path = self.flo_path(img_path)
        other = self._written.setdefault(path, img_path)
        if other != img_path:
            raise FileExistsError(
                f'FlowMetric: the predictions of {other} and {img_path} '
                f'would both be written to {path}; keep more of the path '
                f'in the name (name_depth > {self.name_depth}, e.g. 3 for '
                'Sintel clean + final: pass/scene/frame)')
        return path

    def evaluate(self, size: int) -> dict:
        """``BaseMetric.evaluate``; every process then forgets the files
        it wrote (the next evaluation overwrites them legitimately)."""
        try:
            return super().evaluate(size)
        finally:
            self._written.clear()

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate per-pair sums and counts (and write ``.flo`` files)."""
        for sample in data_samples:
            pred = sample['pred_flow']['data'].detach().cpu()  # 2, h, w
            if self.output_dir:
                path = self._claim(sample['img_path'])
                mkdir_or_exist(osp.dirname(path))
                mmcv.flowwrite(pred.permute(1, 2, 0).numpy().astype(
                    np.float32), path)
            if self.format_only:
                continue
            gt = sample['gt_flow']['data'].cpu()
            valid = sample.get('gt_flow_valid')
            valid = None if valid is None else valid['data'].cpu()
            self.results.append(flow_error_sums(
                pred, gt, valid, self.thresholds, self.max_flow,
                gt_scale=sample.get('gt_flow_scale', 1)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Dataset metrics from the summed per-pair counts."""
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'predictions are saved to {self.output_dir}')
            return OrderedDict()
        total: Dict[str, float] = {}
        for r in results:
            for k, v in r.items():
                total[k] = total.get(k, 0.) + v
        n = total.get('count', 0.)
        if n == 0:
            raise ValueError('FlowMetric: no valid ground-truth pixel in the '
                             'whole dataset (check gt_flow / gt_flow_valid)')
        metrics = OrderedDict(EPE=total['epe_sum'] / n)
        for t in self.thresholds:
            metrics[f'bad{t:g}'] = 100. * total[f'bad{t:g}'] / n
        metrics['Fl'] = 100. * total['fl'] / n
        for name, _, _ in SPEED_BINS:
            c = total[f'{name}_count']
            metrics[name] = total[f'{name}_sum'] / c if c else float('nan')
        table = PrettyTable()
        for k, v in metrics.items():
            table.add_column(k, [f'{v:.3f}'])
        print_log(f'flow results ({int(n)} valid pixels, '
                  f'{len(results)} pairs):', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics
