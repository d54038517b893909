"""Sintel subtrain / subval is CroCo-Flow's split: temple_2 and temple_3
are subval; on the real scene list (one pass) that is 98 of 1041 pairs and
943 for subtrain, the counts CroCo-Flow asserts (naver/croco,
stereoflow/datasets_flow.py)."""
import pytest
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.datasets import SintelDataset

# MPI-Sintel training scenes and their frame counts (1064 frames, 23
# scenes: 1041 consecutive pairs).
SCENES = dict(
    alley_1=50, alley_2=50, ambush_2=21, ambush_4=33, ambush_5=50,
    ambush_6=20, ambush_7=50, bamboo_1=50, bamboo_2=50, bandage_1=50,
    bandage_2=50, cave_2=50, cave_4=50, market_2=50, market_5=50,
    market_6=40, mountain_1=50, shaman_2=50, shaman_3=50, sleeping_1=50,
    sleeping_2=50, temple_2=50, temple_3=50)


def _tree(root):
    for scene, n in SCENES.items():
        frames = root / 'training' / 'clean' / scene
        flows = root / 'training' / 'flow' / scene
        frames.mkdir(parents=True)
        flows.mkdir(parents=True)
        for i in range(1, n + 1):
            (frames / f'frame_{i:04d}.png').touch()
            if i < n:
                (flows / f'frame_{i:04d}.flo').touch()


@pytest.mark.slow
def test_subval_is_crocoflow_split(tmp_path):
    init_default_scope('mmseg')
    _tree(tmp_path)
    sets = {split: SintelDataset(str(tmp_path), split=split)
            for split in ('train', 'subtrain', 'subval')}
    counts = {k: len(v) for k, v in sets.items()}
    assert counts == dict(train=1041, subtrain=943, subval=98)
    scenes = {k: {v.get_data_info(i)['scene'] for i in range(len(v))}
              for k, v in sets.items()}
    assert scenes['subval'] == {'temple_2', 'temple_3'}
    assert scenes['subtrain'] == set(SCENES) - scenes['subval']
