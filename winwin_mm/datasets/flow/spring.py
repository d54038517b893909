"""Spring: Full-HD (1920x1080) rendered scenes with ground truth at twice
the resolution in each axis."""
import os.path as osp
from typing import List, Sequence

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, StrOrSeq, as_tuple, numbered_files, \
    sorted_dirs

_STEP = {'FW': 1, 'BW': -1}
GT_SCALE = 2  # the ground truth is 2x the frame in each axis


@DATASETS.register_module()
class SpringDataset(BaseFlowDataset):
    """Spring pairs of consecutive frames of one camera.

    ``flow_FW_{cam}_XXXX.flo5`` goes from frame ``XXXX`` to ``XXXX + 1``,
    ``flow_BW_{cam}_XXXX.flo5`` from ``XXXX`` to ``XXXX - 1``. The ground
    truth is 2x the image size in each axis, with values in pixels of the
    image (each sample declares ``gt_flow_scale=2``, which ``LoadFlowPair``
    checks and the metric reads): each image pixel has 4 sub-pixel ground
    truths (Spring's metric
    takes the best of them; ``LoadFlowPair(gt_to_image_size=True)`` keeps
    one per pixel for training). Splits: ``train`` (every sequence),
    ``subtrain`` / ``subval`` (all but ``val_scenes`` / only them; CroCo-Flow:
    sequence 0041) and ``test`` (no ground truth: the pairs are built from
    the frames). Each sample also has ``scene``, ``frame``, ``camera`` and
    ``direction``.

    Args:
        data_root: The folder holding ``train/`` and ``test/``.
        split: ``'train'``, ``'subtrain'``, ``'subval'`` or ``'test'``.
        camera: ``'left'``, ``'right'`` or both (a camera whose folders are
            missing, e.g. not downloaded, gives no pairs).
        direction: ``'FW'``, ``'BW'`` or both.
        val_scenes: The sequences of ``subval``.
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', 'subtrain', 'subval', 'test')
    LAYOUT = ('  {train,test}/SSSS/frame_{left,right}/'
              'frame_{left,right}_XXXX.png\n'
              '  train/SSSS/flow_{FW,BW}_{left,right}/'
              'flow_{FW,BW}_{left,right}_XXXX.flo5   (2x resolution)')

    def __init__(self,
                 data_root: str = 'data/spring',
                 split: str = 'train',
                 camera: StrOrSeq = ('left', 'right'),
                 direction: StrOrSeq = ('FW', 'BW'),
                 val_scenes: Sequence[str] = ('0041', ),
                 **kwargs) -> None:
        name = type(self).__name__
        self.cameras = as_tuple(camera, 'camera', ('left', 'right'), name)
        self.directions = as_tuple(direction, 'direction', tuple(_STEP),
                                   name)
        self.val_scenes = tuple(val_scenes)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _keep(self, scene: str) -> bool:
        if self.split == 'subtrain':
            return scene not in self.val_scenes
        if self.split == 'subval':
            return scene in self.val_scenes
        return True

    def load_pairs(self) -> List[dict]:
        part = 'test' if self.split == 'test' else 'train'
        root = osp.join(self.data_root, part)
        pairs = []
        for scene in filter(self._keep, sorted_dirs(root)):
            for cam in self.cameras:
                frames = numbered_files(
                    osp.join(root, scene, f'frame_{cam}'),
                    rf'frame_{cam}_(\d+)\.png')
                for direction in self.directions:
                    step = _STEP[direction]
                    if part == 'test':
                        flows = {n: None for n in frames if n + step in frames}
                    else:
                        flows = numbered_files(
                            osp.join(root, scene, f'flow_{direction}_{cam}'),
                            rf'flow_{direction}_{cam}_(\d+)\.flo5')
                    for n in sorted(flows):
                        if n not in frames or n + step not in frames:
                            raise FileNotFoundError(
                                f'{flows[n]} has no frames {n} and {n + step}'
                                f' in {osp.join(root, scene, f"frame_{cam}")}')
                        pairs.append(self.pair(
                            frames[n], frames[n + step], flows[n],
                            scene=scene, frame=n, camera=cam,
                            direction=direction, gt_flow_scale=GT_SCALE))
        return pairs

    def _what_was_searched(self) -> str:
        what = f'cameras {self.cameras}, directions {self.directions}'
        if self.split in ('subtrain', 'subval'):
            what += f', val_scenes {self.val_scenes}'
        return what
