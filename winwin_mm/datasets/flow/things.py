"""FlyingThings3D (SceneFlow): objects flying along random 3-D paths,
960x540, 10 frames per sequence, PFM flow in both directions."""
import os.path as osp
from typing import List, Sequence

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, StrOrSeq, as_tuple, numbered_files, \
    sorted_dirs

_CAM = {'left': 'L', 'right': 'R'}
_DIR = {'into_future': ('Future', 1), 'into_past': ('Past', -1)}


@DATASETS.register_module()
class FlyingThings3DDataset(BaseFlowDataset):
    """FlyingThings3D pairs of consecutive frames of one camera.

    ``into_future`` flow of frame ``n`` pairs frame ``n`` with ``n + 1``;
    ``into_past`` flow of frame ``n`` pairs frame ``n`` with ``n - 1``. A
    flow file whose other frame does not exist (the last frame's future, the
    first frame's past) gives no pair. Each sample also has ``scene``
    (``'A/0000'``), ``frame``, ``camera``, ``direction`` and ``pass_style``.

    Args:
        data_root: The folder holding ``frames_cleanpass/``,
            ``frames_finalpass/`` and ``optical_flow/``.
        split: ``'train'`` (``TRAIN``) or ``'test'`` (``TEST``, which has
            ground truth too).
        pass_style: ``'clean'``, ``'final'`` or both as a sequence.
        direction: ``'into_future'``, ``'into_past'`` or both.
        camera: ``'left'``, ``'right'`` or both.
        subsets: The scene letters to use.
        img_suffix: The frames' extension (``'.png'``; ``'.webp'`` for the
            compressed release).
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', 'test')
    LAYOUT = ('  frames_{cleanpass,finalpass}/{TRAIN,TEST}/{A,B,C}/NNNN/'
              '{left,right}/XXXX.png\n'
              '  optical_flow/{TRAIN,TEST}/{A,B,C}/NNNN/{into_future,'
              'into_past}/{left,right}/\n'
              '      OpticalFlowInto{Future,Past}_XXXX_{L,R}.pfm')

    def __init__(self,
                 data_root: str = 'data/flyingthings3d',
                 split: str = 'train',
                 pass_style: StrOrSeq = 'clean',
                 direction: StrOrSeq = 'into_future',
                 camera: StrOrSeq = 'left',
                 subsets: Sequence[str] = ('A', 'B', 'C'),
                 img_suffix: str = '.png',
                 **kwargs) -> None:
        name = type(self).__name__
        self.pass_styles = as_tuple(pass_style, 'pass_style',
                                    ('clean', 'final'), name)
        self.directions = as_tuple(direction, 'direction', tuple(_DIR), name)
        self.cameras = as_tuple(camera, 'camera', tuple(_CAM), name)
        self.subsets = tuple(subsets)
        self.img_suffix = img_suffix
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_pairs(self) -> List[dict]:
        part = self.split.upper()
        flow_root = osp.join(self.data_root, 'optical_flow', part)
        pairs = []
        for pass_style in self.pass_styles:
            img_root = osp.join(self.data_root, f'frames_{pass_style}pass',
                                part)
            for subset in self.subsets:
                for seq in sorted_dirs(osp.join(img_root, subset)):
                    scene = f'{subset}/{seq}'
                    for camera in self.cameras:
                        for direction in self.directions:
                            pairs += self._sequence(
                                osp.join(img_root, subset, seq, camera),
                                osp.join(flow_root, subset, seq, direction,
                                         camera), direction, camera,
                                dict(scene=scene, pass_style=pass_style))
        return pairs

    def _sequence(self, img_dir: str, flow_dir: str, direction: str,
                  camera: str, meta: dict) -> List[dict]:
        frames = numbered_files(
            img_dir, r'(\d+)' + self.img_suffix.replace('.', r'\.'))
        word, step = _DIR[direction]
        flows = numbered_files(
            flow_dir, rf'OpticalFlowInto{word}_(\d+)_{_CAM[camera]}\.pfm')
        return [
            self.pair(frames[n], frames[n + step], flows[n], frame=n,
                      camera=camera, direction=direction, **meta)
            for n in sorted(flows) if n in frames and n + step in frames
        ]

    def _what_was_searched(self) -> str:
        return (f'passes {self.pass_styles}, directions {self.directions}, '
                f'cameras {self.cameras}, subsets {self.subsets}')
