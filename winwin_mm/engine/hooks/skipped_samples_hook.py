"""Report the unreadable samples a ``CheckedDataset`` skipped."""
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...datasets.checked_dataset import CheckedDataset


def find_checked_dataset(dataset) -> Optional[CheckedDataset]:
    """The ``CheckedDataset`` in ``dataset`` or its ``.dataset`` chain."""
    for _ in range(8):  # wrappers of wrappers, bounded
        if isinstance(dataset, CheckedDataset):
            return dataset
        dataset = getattr(dataset, 'dataset', None)
    return None


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """At the end of every training, validation and test epoch, log how
    many unreadable samples the loader's ``CheckedDataset`` skipped in that
    epoch (summed over all processes and loader workers), as a warning when
    there were any. Nothing is logged for datasets that do not skip.

    ``tools/train.py`` and ``tools/test.py`` add it; the count is also put
    in the message hub as ``{mode}/skipped_unreadable``.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self) -> None:
        self._reported = dict(train=0, val=0, test=0)

    def _report(self, runner, mode: str) -> None:
        loader = getattr(runner, f'{mode}_dataloader', None)
        checked = find_checked_dataset(getattr(loader, 'dataset', None))
        if checked is None or not checked.skip_unreadable:
            return
        total = torch.tensor(checked.num_skipped, dtype=torch.int64)
        all_reduce(total)  # every process skips on its own shard
        count = int(total) - self._reported[mode]
        self._reported[mode] = int(total)
        runner.message_hub.update_info(f'{mode}/skipped_unreadable', count)
        where = (f'training epoch {runner.epoch + 1}' if mode == 'train'
                 else f'{mode} epoch')
        runner.logger.log(
            30 if count else 20,
            f'{where}: {count} unreadable samples skipped ({int(total)} in '
            'total; the warnings above name the files)')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, 'train')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'test')
