"""TartanAir: drone trajectories in simulated environments, 640x480, flow
of the left camera as ``.npy``."""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

from mmseg.registry import DATASETS
from .base import BaseFlowDataset, StrOrSeq, as_tuple, numbered_files, \
    sorted_dirs

_FLOW = re.compile(r'(\d+)_(\d+)_flow\.npy')


@DATASETS.register_module()
class TartanAirDataset(BaseFlowDataset):
    """TartanAir pairs ``image_left/XXXXXX_left.png`` ->
    ``image_left/YYYYYY_left.png`` with ``flow/XXXXXX_YYYYYY_flow.npy``.

    The flow is valid wherever it is finite (as CroCo-Flow reads it); the
    occlusion mask ``XXXXXX_YYYYYY_mask.npy`` is given as
    ``flow_mask_path`` (None if absent) for pipelines that want it. An
    environment unpacked one level deeper (``ENV/ENV/Easy``) is found too.
    Each sample also has ``scene`` (``ENV/Easy/P000``) and ``frame``.

    Args:
        data_root: The folder holding the environments.
        split: ``'train'`` (all trajectories; TartanAir has no standard flow
            validation split).
        difficulty: ``'Easy'``, ``'Hard'`` or both.
        envs: The environments to use; None: every folder of ``data_root``.
        **kwargs: ``BaseFlowDataset`` / ``BaseDataset`` arguments.
    """
    SPLITS = ('train', )
    LAYOUT = ('  ENV/{Easy,Hard}/PXXX/image_left/XXXXXX_left.png\n'
              '  ENV/{Easy,Hard}/PXXX/flow/XXXXXX_YYYYYY_flow.npy '
              '(+ XXXXXX_YYYYYY_mask.npy)')

    def __init__(self,
                 data_root: str = 'data/tartanair',
                 split: str = 'train',
                 difficulty: StrOrSeq = ('Easy', 'Hard'),
                 envs: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        self.difficulties = as_tuple(difficulty, 'difficulty',
                                     ('Easy', 'Hard'), type(self).__name__)
        self.envs = None if envs is None else tuple(envs)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _env_dir(self, env: str) -> str:
        base = osp.join(self.data_root, env)
        nested = osp.join(base, env)
        if not any(osp.isdir(osp.join(base, d)) for d in self.difficulties) \
                and osp.isdir(nested):
            return nested
        return base

    def load_pairs(self) -> List[dict]:
        pairs = []
        for env in self.envs or sorted_dirs(self.data_root):
            env_dir = self._env_dir(env)
            for diff in self.difficulties:
                for traj in sorted_dirs(osp.join(env_dir, diff)):
                    pairs += self._trajectory(
                        osp.join(env_dir, diff, traj), f'{env}/{diff}/{traj}')
        return pairs

    def _trajectory(self, traj_dir: str, scene: str) -> List[dict]:
        frames = numbered_files(osp.join(traj_dir, 'image_left'),
                                r'(\d+)_left\.png')
        flow_dir = osp.join(traj_dir, 'flow')
        if not osp.isdir(flow_dir):
            return []
        pairs = []
        for name in sorted(os.listdir(flow_dir)):
            m = _FLOW.fullmatch(name)
            if not m:
                continue
            a, b = int(m.group(1)), int(m.group(2))
            if a not in frames or b not in frames:
                raise FileNotFoundError(
                    f'{osp.join(flow_dir, name)} has no frames {a} and {b} '
                    f'in {osp.join(traj_dir, "image_left")}')
            mask = osp.join(flow_dir, name[:-len('flow.npy')] + 'mask.npy')
            pairs.append(self.pair(
                frames[a], frames[b], osp.join(flow_dir, name), scene=scene,
                frame=a, flow_mask_path=mask if osp.isfile(mask) else None))
        return pairs

    def _what_was_searched(self) -> str:
        return f'difficulties {self.difficulties}, envs {self.envs or "all"}'
