"""The base of the optical flow datasets: image pairs and their flow files.

Each sample (``data_info``) holds ``img_path`` (frame 1), ``img2_path``
(frame 2), ``flow_path`` (the flow from frame 1 to frame 2; None where the
split has no ground truth) and dataset-specific meta (scene, frame index...).
The file lists come from scanning the dataset's real on-disk layout when the
dataset is fully initialised (``lazy_init`` defers it), so a subclass only
writes ``load_pairs``.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

StrOrSeq = Union[str, Sequence[str]]


def as_tuple(value: StrOrSeq, name: str, allowed: Sequence[str],
             owner: str) -> Tuple[str, ...]:
    """A str or a sequence of str as a tuple, each checked against
    ``allowed`` (e.g. ``pass_style='clean'`` or ``('clean', 'final')``)."""
    values = (value, ) if isinstance(value, str) else tuple(value)
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f'{owner}: {name}={value!r}; expected one of '
                         f'{tuple(allowed)} or a sequence of them')
    return values


def numbered_files(folder: str, pattern: str) -> Dict[int, str]:
    """``{number: path}`` of the files in ``folder`` whose name fully
    matches ``pattern`` (one group: the number); {} if it is missing."""
    if not osp.isdir(folder):
        return {}
    regex = re.compile(pattern)
    found = {}
    for name in os.listdir(folder):
        m = regex.fullmatch(name)
        if m:
            found[int(m.group(1))] = osp.join(folder, name)
    return found


def sorted_dirs(folder: str) -> List[str]:
    """Names of the sub-folders of ``folder``, sorted ([] if missing)."""
    if not osp.isdir(folder):
        return []
    return sorted(d for d in os.listdir(folder)
                  if osp.isdir(osp.join(folder, d)))


class BaseFlowDataset(BaseDataset):
    """Image pairs with optical flow, found in a dataset's on-disk layout.

    Subclasses set ``SPLITS`` and ``LAYOUT`` (shown in errors) and implement
    :meth:`load_pairs`. A missing ``data_root`` or a split without pairs
    raises ``FileNotFoundError`` naming the folder and the expected layout.

    Args:
        data_root: The dataset's root folder.
        split: One of ``SPLITS``.
        **kwargs: ``mmengine.dataset.BaseDataset`` arguments (``pipeline``,
            ``test_mode``, ``lazy_init``, ``indices``...).
    """
    METAINFO = dict(task='optical_flow')
    SPLITS: Tuple[str, ...] = ('train', )
    LAYOUT = ''

    def __init__(self, data_root: str, split: str = 'train',
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: unknown split '
                             f'{split!r}; expected one of {self.SPLITS}')
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_pairs(self) -> List[dict]:
        """The samples of ``self.split`` under ``self.data_root``."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        name = type(self).__name__
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{name}: data_root {self.data_root!r} does not exist; '
                f'expected layout:\n{self.LAYOUT}')
        data_list = self.load_pairs()
        if not data_list:
            raise FileNotFoundError(
                f'{name}: no image pairs for split {self.split!r} under '
                f'{self.data_root!r} ({self._what_was_searched()}); expected '
                f'layout:\n{self.LAYOUT}')
        return data_list

    def _what_was_searched(self) -> str:
        """A short note on what was looked for, for the empty-split error."""
        return 'nothing matched'

    @staticmethod
    def pair(img_path: str, img2_path: str, flow_path: Optional[str],
             **meta) -> dict:
        """One sample; ``flow_path`` None for a split without ground truth."""
        return dict(img_path=img_path, img2_path=img2_path,
                    flow_path=flow_path, **meta)

