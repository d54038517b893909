"""MPI-Sintel: rendered film scenes, clean and final passes, 1024x436."""
import os.path as osp
from typing import List, Sequence

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, StrOrSeq, as_tuple, numbered_files, \
    sorted_dirs

_FRAME = r'frame_(\d+)\.png'
_FLOW = r'frame_(\d+)\.flo'


@DATASETS.register_module()
class SintelDataset(BaseFlowDataset):
    """MPI-Sintel pairs of consecutive frames.

    The flow ``training/flow/SCENE/frame_XXXX.flo`` goes from frame ``XXXX``
    to frame ``XXXX + 1``. Splits:

    - ``train``: every training scene;
    - ``subtrain`` / ``subval``: the training scenes but ``val_scenes`` /
      only them. The default is CroCo-Flow's split (naver/croco,
      ``stereoflow/datasets_flow.py``, the Sintel dataset's pair lists):
      subval = the scenes temple_2 and temple_3, subtrain = the other 21,
      which it checks as 98 + 943 = 1041 pairs per pass;
    - ``test``: ``test/{pass}`` without ground truth (``flow_path`` None).

    Each sample also has ``scene``, ``frame`` (number of frame 1) and
    ``pass_style``.

    Args:
        data_root: The folder holding ``training/`` (and ``test/``).
        split: ``'train'``, ``'subtrain'``, ``'subval'`` or ``'test'``.
        pass_style: ``'clean'``, ``'final'`` or both as a sequence (all the
            pairs of the first pass, then of the second).
        val_scenes: The scenes of ``subval``.
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', 'subtrain', 'subval', 'test')
    LAYOUT = ('  training/{clean,final}/SCENE/frame_XXXX.png\n'
              '  training/flow/SCENE/frame_XXXX.flo   (frame XXXX -> XXXX+1)\n'
              '  test/{clean,final}/SCENE/frame_XXXX.png')

    def __init__(self,
                 data_root: str = 'data/Sintel',
                 split: str = 'train',
                 pass_style: StrOrSeq = 'clean',
                 val_scenes: Sequence[str] = ('temple_2', 'temple_3'),
                 **kwargs) -> None:
        self.pass_styles = as_tuple(pass_style, 'pass_style',
                                    ('clean', 'final'), type(self).__name__)
        self.val_scenes = tuple(val_scenes)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _keep(self, scene: str) -> bool:
        if self.split == 'subtrain':
            return scene not in self.val_scenes
        if self.split == 'subval':
            return scene in self.val_scenes
        return True

    def load_pairs(self) -> List[dict]:
        part = 'test' if self.split == 'test' else 'training'
        pairs = []
        for pass_style in self.pass_styles:
            img_root = osp.join(self.data_root, part, pass_style)
            for scene in filter(self._keep, sorted_dirs(img_root)):
                frames = numbered_files(osp.join(img_root, scene), _FRAME)
                if part == 'test':
                    flows = {i: None for i in frames if i + 1 in frames}
                else:
                    flows = numbered_files(
                        osp.join(self.data_root, part, 'flow', scene), _FLOW)
                for i in sorted(flows):
                    if i not in frames or i + 1 not in frames:
                        raise FileNotFoundError(
                            f'{flows[i]} has no frames {i} and {i + 1} in '
                            f'{osp.join(img_root, scene)}')
                    pairs.append(self.pair(frames[i], frames[i + 1],
                                           flows[i], scene=scene, frame=i,
                                           pass_style=pass_style))
        return pairs

    def _what_was_searched(self) -> str:
        part = 'test' if self.split == 'test' else 'training'
        what = f'passes {self.pass_styles} in {part}/'
        if self.split in ('subtrain', 'subval'):
            what += f', val_scenes {self.val_scenes}'
        return what
