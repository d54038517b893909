"""The CroCo-Flow training mix of the Sintel config over tiny real layouts."""
import collections

import pytest
from mmengine import Config
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import DATASETS

from test_flow_datasets import sintel_tree, touch


def chairs_tree(root, n=3):
    for i in range(1, n + 1):
        touch(root, *[f'data/{i:05d}_{s}' for s in
                      ('img1.ppm', 'img2.ppm', 'flow.flo')])
    (root / 'FlyingChairs_train_val.txt').write_text('1\n' * (n - 1) + '2\n')


def things_tree(root):
    for p in ('cleanpass', 'finalpass'):
        touch(root, *[f'frames_{p}/TRAIN/A/0000/left/{i:04d}.png'
                      for i in (6, 7, 8)])
    for d, word in (('into_future', 'Future'), ('into_past', 'Past')):
        touch(root, *[f'optical_flow/TRAIN/A/0000/{d}/left/'
                      f'OpticalFlowInto{word}_{i:04d}_L.pfm' for i in (6, 7, 8)])


def tartanair_tree(root):
    traj = 'abandonedfactory/Easy/P000'
    touch(root, *[f'{traj}/image_left/{i:06d}_left.png' for i in range(3)])
    touch(root, f'{traj}/flow/000000_000001_flow.npy',
          f'{traj}/flow/000001_000002_flow.npy')


def source_of(info):
    path = info['img_path']
    for name in ('Sintel', 'Chairs', 'Things', 'TartanAir'):
        if f'/{name}/' in path:
            if name == 'Sintel':
                return f"Sintel {info['pass_style']}"
            return name
    raise AssertionError(path)


@pytest.mark.slow
@pytest.mark.parametrize('config,sintel_pairs', [
    ('configs/winwin/vitb_flow_sintel.py', 2),  # subtrain: alley_1
    ('configs/winwin/vitb_flow_sintel_testset-ft.py', 6),  # train: 3 scenes
    ('configs/winwin/vitb_flow_sintel_crop-tile.py', 2),
    ('configs/winwin/vitb_flow_sintel_fullres.py', 2),
    ('configs/winwin/vitb_flow_sintel_fullres-vitdet.py', 2),
    ('configs/winwin/vitb_flow_sintel_tokens-200.py', 2),
])
def test_sintel_config_epoch_counts(tmp_path, config, sintel_pairs):
    """One epoch: 40x Sintel clean + 40x Sintel final + 4x Things (both
    passes) + 4x Chairs train + 1x TartanAir."""
    init_default_scope('mmseg')
    roots = {'SintelDataset': tmp_path / 'Sintel',
             'FlyingChairsDataset': tmp_path / 'Chairs',
             'FlyingThings3DDataset': tmp_path / 'Things',
             'TartanAirDataset': tmp_path / 'TartanAir'}
    sintel_tree(roots['SintelDataset'])  # 2 pairs a scene and pass
    chairs_tree(roots['FlyingChairsDataset'])  # 2 train pairs
    things_tree(roots['FlyingThings3DDataset'])  # 2 x 2 passes x 2 dirs = 8
    tartanair_tree(roots['TartanAirDataset'])  # 2 pairs
    cfg = Config.fromfile(config)
    mix = cfg.train_dataloader.dataset
    assert mix.type == 'ConcatDataset'
    for entry in mix.datasets:
        leaf = entry.get('dataset', entry)
        leaf.data_root = str(roots[leaf.type])
        leaf.pipeline = []
    dataset = DATASETS.build(mix)
    counts = collections.Counter(
        source_of(dataset.get_data_info(i)) for i in range(len(dataset)))
    assert counts == {'Sintel clean': 40 * sintel_pairs,
                      'Sintel final': 40 * sintel_pairs,
                      'Things': 4 * 8, 'Chairs': 4 * 2, 'TartanAir': 1 * 2}
