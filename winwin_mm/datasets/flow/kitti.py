"""KITTI 2012 / 2015 optical flow: driving scenes, sparse ground truth in
16-bit PNGs (about 1242x375)."""
import os.path as osp
from typing import List

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, numbered_files

# The folder of the left colour frames, per year.
_IMAGES = {2012: 'colored_0', 2015: 'image_2'}
_NUM_SUBVAL = 10  # KITTI-15 subval: the last 10 pairs (as CroCo-Flow)


@DATASETS.register_module()
class KITTIFlowDataset(BaseFlowDataset):
    """KITTI pairs ``XXXXXX_10.png`` -> ``XXXXXX_11.png`` with the flow
    ``flow_occ/XXXXXX_10.png`` (sparse: ``read_flow`` gives the valid mask).

    Splits: ``train`` (all of ``training/``: 194 pairs in 2012, 200 in
    2015), for 2015 ``subtrain`` (the first 190) and ``subval`` (the last
    10), and ``test`` (``testing/``, no ground truth). Each sample also has
    ``frame`` (the pair number) and ``year``.

    Args:
        data_root: The folder holding ``training/`` and ``testing/``.
        year: 2012 or 2015 (selects the image folder).
        split: ``'train'``, ``'subtrain'``, ``'subval'`` or ``'test'``.
        flow_dir: ``'flow_occ'`` (all pixels) or ``'flow_noc'``
            (non-occluded only).
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', 'subtrain', 'subval', 'test')
    LAYOUT = ('  training/{image_2 (2015) | colored_0 (2012)}/XXXXXX_10.png, '
              'XXXXXX_11.png\n'
              '  training/flow_occ/XXXXXX_10.png\n'
              '  testing/{image_2 | colored_0}/XXXXXX_10.png, XXXXXX_11.png')

    def __init__(self,
                 data_root: str = 'data/kitti2015',
                 year: int = 2015,
                 split: str = 'train',
                 flow_dir: str = 'flow_occ',
                 **kwargs) -> None:
        if year not in _IMAGES:
            raise ValueError(f'KITTIFlowDataset: year={year!r}; expected '
                             '2012 or 2015')
        if year == 2012 and split in ('subtrain', 'subval'):
            raise ValueError(f'KITTIFlowDataset: split {split!r} is defined '
                             'for 2015 only (first 190 / last 10 pairs)')
        self.year = year
        self.flow_dir = flow_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_pairs(self) -> List[dict]:
        part = 'testing' if self.split == 'test' else 'training'
        img_dir = osp.join(self.data_root, part, _IMAGES[self.year])
        first = numbered_files(img_dir, r'(\d+)_10\.png')
        if self.split == 'test':
            flows = dict.fromkeys(first)
        else:
            flows = numbered_files(
                osp.join(self.data_root, part, self.flow_dir),
                r'(\d+)_10\.png')
        pairs = []
        for i in sorted(flows):
            img2 = osp.join(img_dir, f'{i:06d}_11.png')
            if i not in first or not osp.isfile(img2):
                raise FileNotFoundError(
                    f'{flows[i] or first[i]}: no frame pair '
                    f'{i:06d}_10.png / {i:06d}_11.png in {img_dir}')
            pairs.append(self.pair(first[i], img2, flows[i], frame=i,
                                   year=self.year))
        if self.split == 'subtrain':
            return pairs[:-_NUM_SUBVAL]
        if self.split == 'subval':
            return pairs[-_NUM_SUBVAL:]
        return pairs

    def _what_was_searched(self) -> str:
        return (f'year {self.year}: {_IMAGES[self.year]}/*_10.png and '
                f'{self.flow_dir}/*_10.png')
