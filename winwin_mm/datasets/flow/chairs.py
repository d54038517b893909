"""FlyingChairs: chairs pasted on Flickr images, 22,872 pairs at 512x384."""
import os.path as osp
from typing import List, Optional

import numpy as np

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, numbered_files

# The name of the split file on the dataset's site, then CroCo's copy.
_SPLIT_FILES = ('FlyingChairs_train_val.txt', 'chairs_split.txt')


@DATASETS.register_module()
class FlyingChairsDataset(BaseFlowDataset):
    """FlyingChairs pairs ``data/XXXXX_img1.ppm``, ``XXXXX_img2.ppm`` with
    ``XXXXX_flow.flo``.

    The split file holds one number per pair, in the order of the pair
    numbers: 1 = train (22,232 pairs), 2 = val (640). Each sample also has
    ``frame`` (the pair number).

    Args:
        data_root: The folder holding ``data/`` (``FlyingChairs_release``).
        split: ``'train'`` or ``'val'``.
        split_file: The split file, relative to ``data_root``; None looks
            for ``FlyingChairs_train_val.txt``, then ``chairs_split.txt``.
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', 'val')
    LAYOUT = ('  data/XXXXX_img1.ppm, data/XXXXX_img2.ppm, '
              'data/XXXXX_flow.flo\n'
              '  FlyingChairs_train_val.txt   (one line per pair: '
              '1 = train, 2 = val)')

    def __init__(self,
                 data_root: str = 'data/FlyingChairs_release',
                 split: str = 'train',
                 split_file: Optional[str] = None,
                 **kwargs) -> None:
        self.split_file = split_file
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _split_file(self) -> str:
        names = (self.split_file, ) if self.split_file else _SPLIT_FILES
        for name in names:
            path = osp.join(self.data_root, name)
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f'FlyingChairsDataset: no split file {" or ".join(names)} in '
            f'{self.data_root!r}; expected layout:\n{self.LAYOUT}')

    def load_pairs(self) -> List[dict]:
        data = osp.join(self.data_root, 'data')
        flows = numbered_files(data, r'(\d+)_flow\.flo')
        if not flows:
            return []
        split_file = self._split_file()
        labels = np.loadtxt(split_file, dtype=np.int64, ndmin=1)
        if len(labels) != len(flows):
            raise ValueError(f'{split_file} has {len(labels)} entries but '
                             f'{data} holds {len(flows)} flow files')
        wanted = 1 if self.split == 'train' else 2
        pairs = []
        for label, i in zip(labels, sorted(flows)):
            if label != wanted:
                continue
            stem = osp.join(data, osp.basename(flows[i])[:-len('_flow.flo')])
            pairs.append(self.pair(stem + '_img1.ppm', stem + '_img2.ppm',
                                   flows[i], frame=i))
        return pairs

    def _what_was_searched(self) -> str:
        return 'data/*_flow.flo and the split file'
