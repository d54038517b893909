"""Record the wall time of the training iterations alone."""
import json
import os.path as osp
import time
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class TrainTimeHook(Hook):
    """Write ``{work_dir}/{filename}``: the seconds from the start of the
    first training iteration to the end of the last one, the iterations run
    and the seconds per iteration.

    Validation, checkpoint saving, temperature tuning and process start-up
    are left out (the time stops at the last iteration's
    ``after_train_iter``, before mmengine's loop validates), so studies can
    compare the training cost of settings (paper Fig. 1 left).

    Args:
        filename: the JSON file, relative to the work dir.
    """

    priority = 'VERY_HIGH'  # stop the clock before other hooks' work

    def __init__(self, filename: str = 'train_time.json') -> None:
        self.filename = filename
        self._start: Optional[float] = None
        self._iters = 0
        self._seconds = 0.0

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        self._iters += 1
        self._seconds = time.perf_counter() - self._start
        if self.is_last_train_iter(runner) and is_main_process():
            record = dict(train_seconds=round(self._seconds, 2),
                          iterations=self._iters,
                          seconds_per_iter=round(
                              self._seconds / self._iters, 4))
            with open(osp.join(runner.work_dir, self.filename), 'w') as f:
                json.dump(record, f, indent=1)
