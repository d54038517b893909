"""A wrapper for any dataset: unreadable samples are named, or skipped."""
import types
from typing import List, Optional, Union

import torch
from mmengine.logging import print_log
from mmseg.registry import DATASETS
from torch.utils.data import Dataset, get_worker_info

from .file_checks import sample_files, unreadable_files

MAX_WORKERS = 64  # skip-counter slots: the main process and its workers


class UnreadableSampleError(RuntimeError):
    """A sample's files cannot be read; the message names them and the
    dataset index (``problem``: the same without the advice)."""

    def __init__(self, problem: str, advice: str = '') -> None:
        super().__init__(problem + advice)
        self.problem = problem


def _loading_transform(tb: Optional[types.TracebackType]) -> Optional[str]:
    """Name of the innermost ``Load*`` transform the exception passed
    through (``LoadImageFromFile``, ``LoadAnnotations``, a flow loader)."""
    name = None
    while tb is not None:
        owner = tb.tb_frame.f_locals.get('self')
        if owner is not None and type(owner).__name__.startswith('Load'):
            name = type(owner).__name__
        tb = tb.tb_next
    return name


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f'{type(e).__name__}: {lines[0][:200] if lines else ""}'


@DATASETS.register_module()
class CheckedDataset(Dataset):
    """Wrap any dataset (mmseg, depth, flow, a ``ConcatDataset``...) so that
    a sample whose files cannot be read either stops the run with an
    :class:`UnreadableSampleError` naming the file and the dataset index, or
    (``skip_unreadable=True``) is replaced by the next readable sample with
    a warning. ``SkippedSamplesHook`` reports the count at the end of each
    epoch.

    A sample counts as unreadable when one of the files named in its data
    info (``*_path`` keys) is missing, empty, or fails to decode (images,
    ``.flo``, ``.npy``), or when the error came from a ``Load*`` transform.
    Other errors (a wrong pipeline setting, a bug) are never skipped: they
    are re-raised with a note naming the index and the files.

    ``tools/train.py`` and ``tools/test.py`` wrap every dataloader's dataset
    in it; there ``skip_unreadable`` and ``max_skips`` may be written in the
    dataset config itself (they are moved onto the wrapper). With another
    script, wrap explicitly::

        train_dataloader = dict(dataset=dict(
            type='CheckedDataset', skip_unreadable=True,
            dataset=dict(type='BDD100KDataset', ...)))

    Args:
        dataset: the wrapped dataset or its config.
        skip_unreadable: skip unreadable samples instead of stopping.
        max_skips: stop anyway once more than this many samples were
            skipped in this process (and its loader workers); ``None``: no
            limit (a dataset with no readable sample still stops).
    """

    def __init__(self, dataset: Union[dict, Dataset],
                 skip_unreadable: bool = False,
                 max_skips: Optional[int] = None) -> None:
        self.dataset = (DATASETS.build(dataset) if isinstance(dataset, dict)
                        else dataset)
        self.skip_unreadable = skip_unreadable
        self.max_skips = max_skips
        # One slot per process (main + loader workers): shared memory, so
        # the main process sees what its workers skipped.
        self._skips = torch.zeros(MAX_WORKERS, dtype=torch.int64)
        self._skips.share_memory_()

    # ------------------------------------------------------------ interface
    @property
    def metainfo(self) -> dict:
        return getattr(self.dataset, 'metainfo', {})

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def num_skipped(self) -> int:
        """Samples skipped so far by this process and its workers."""
        return int(self._skips.sum())

    def __getitem__(self, idx: int):
        n = len(self)
        for attempt in range(n):
            j = (idx + attempt) % n
            try:
                return self.dataset[j]
            except Exception as e:  # noqa: BLE001 (classified below)
                error = self._unreadable_error(j, e)
                if error is None:  # not a file problem: never skipped
                    e.add_note(f'(while loading {self._where(j)}: '
                               f'{self._files(j)})')
                    raise
                if not self.skip_unreadable:
                    raise error from e
                self._count_skip(error, e)
        raise UnreadableSampleError(
            f'no sample of {type(self.dataset).__name__} ({n} samples) can '
            'be read')

    # ------------------------------------------------------------- helpers
    def _where(self, idx: int) -> str:
        return f'dataset index {idx} of {type(self.dataset).__name__}'

    def _info(self, idx: int) -> dict:
        try:
            return self.dataset.get_data_info(idx)
        except Exception:  # noqa: BLE001 (a dataset without data infos)
            return {}

    def _files(self, idx: int) -> str:
        files = sample_files(self._info(idx))
        return ', '.join(f'{k}={p}' for k, p in files) or 'no file paths'

    def _unreadable_error(self, idx: int, e: Exception
                          ) -> Optional[UnreadableSampleError]:
        """The error to raise when ``e`` means unreadable files, else None."""
        bad: List[tuple] = unreadable_files(self._info(idx))
        loader = _loading_transform(e.__traceback__)
        if bad:
            what = '; '.join(f'{k} {p} {problem}' for k, p, problem in bad)
        elif loader is not None:
            what = f'{loader} failed on its files ({self._files(idx)})'
        else:
            return None
        return UnreadableSampleError(
            f'{self._where(idx)} cannot be loaded: {what} [{_first_line(e)}]',
            '. Fix or remove the file, or skip unreadable samples with '
            'skip_unreadable=True in the dataset config (CheckedDataset).')

    def _count_skip(self, error: UnreadableSampleError, e: Exception
                    ) -> None:
        worker = get_worker_info()
        slot = 0 if worker is None else 1 + worker.id % (MAX_WORKERS - 1)
        self._skips[slot] += 1
        total = self.num_skipped
        print_log(f'skipped: {error.problem} ({total} skipped so far)',
                  'current', 30)
        if self.max_skips is not None and total > self.max_skips:
            raise UnreadableSampleError(
                f'{total} unreadable samples skipped, more than max_skips='
                f'{self.max_skips}; the last: {error}') from e

