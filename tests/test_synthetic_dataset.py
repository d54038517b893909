"""The generated scenes: layout, determinism, atomicity, mmseg loading."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from mmseg.datasets import BDD100KDataset
from mmseg.registry import DATASETS
from winwin_mm.datasets import (SyntheticSceneDataset, generate_bdd100k_layout,
                                generate_synthetic_scenes)
from winwin_mm.datasets.generated import scene_dataset
from winwin_mm.datasets.generated.scenes import BDD100K_IDS, CLASSES

SIZE = (96, 128)  # height, width
LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')  # as the runner does: mmseg's transforms


def labels(ann_dir):
    return [mmcv.imread(osp.join(ann_dir, f), flag='unchanged')
            for f in sorted(os.listdir(ann_dir))]


def test_layout_sizes_and_classes(tmp_path):
    img_dir, ann_dir = generate_synthetic_scenes(str(tmp_path), 'train', 4,
                                                 SIZE, seed=0)
    assert img_dir == osp.join(str(tmp_path), 'images', 'train')
    assert ann_dir == osp.join(str(tmp_path), 'labels', 'train')
    imgs, anns = sorted(os.listdir(img_dir)), sorted(os.listdir(ann_dir))
    assert len(imgs) == 4 and all(f.endswith('.jpg') for f in imgs)
    assert [f[:-4] for f in imgs] == [f[:-4] for f in anns]
    assert mmcv.imread(osp.join(img_dir, imgs[0])).shape == (96, 128, 3)
    maps = labels(ann_dir)
    assert all(m.shape == (96, 128) and m.dtype == np.uint8 for m in maps)
    present = set(np.unique(np.stack(maps)).tolist())
    assert present <= set(range(len(CLASSES)))
    for name in ('sky', 'road', 'vehicle', 'sidewalk'):
        assert CLASSES.index(name) in present
    # A second call reuses the files.
    mtime = os.stat(osp.join(img_dir, imgs[0])).st_mtime_ns
    generate_synthetic_scenes(str(tmp_path), 'train', 4, SIZE, seed=0)
    assert os.stat(osp.join(img_dir, imgs[0])).st_mtime_ns == mtime


def test_deterministic_by_seed(tmp_path):
    runs = {}
    for name, split, seed in [('a', 'train', 0), ('b', 'train', 0),
                              ('c', 'train', 1), ('d', 'val', 0)]:
        _, ann_dir = generate_synthetic_scenes(
            str(tmp_path / name), split, 3, SIZE, seed=seed)
        runs[name] = np.stack(labels(ann_dir))
    assert np.array_equal(runs['a'], runs['b'])
    assert not np.array_equal(runs['a'], runs['c'])
    assert not np.array_equal(runs['a'], runs['d'])


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    render, calls = scene_dataset.render_scene, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render(*args)

    monkeypatch.setattr(scene_dataset, 'render_scene', failing)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic_scenes(str(tmp_path), 'train', 5, SIZE)
    assert not osp.exists(tmp_path / 'images' / 'train')
    assert not osp.exists(tmp_path / 'labels' / 'train')
    assert [p for p in tmp_path.iterdir() if p.name.startswith('.tmp')] == []
    monkeypatch.setattr(scene_dataset, 'render_scene', render)
    img_dir, _ = generate_synthetic_scenes(str(tmp_path), 'train', 5, SIZE)
    assert len(os.listdir(img_dir)) == 5


@pytest.mark.slow
def test_dataset_generates_on_first_use(tmp_path):
    root = str(tmp_path / 'synthetic')
    pipeline = LOAD + [dict(type='PackSegInputs')]
    ds = DATASETS.build(
        dict(type='SyntheticSceneDataset', data_root=root, split='val',
             num_images=3, img_size=SIZE, pipeline=pipeline))
    assert isinstance(ds, SyntheticSceneDataset) and len(ds) == 3
    assert ds.metainfo['classes'] == CLASSES
    assert len(ds.metainfo['palette']) == len(CLASSES)
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 96, 128)
    seg = sample['data_samples'].gt_sem_seg.data
    assert int(seg.max()) < len(CLASSES)
    # Built again: reuses the files.
    assert len(SyntheticSceneDataset(data_root=root, split='val',
                                     num_images=3, img_size=SIZE)) == 3


def test_bdd100k_layout_loads_in_mmseg(tmp_path):
    root = str(tmp_path / 'bdd100k')
    img_dir, ann_dir = generate_bdd100k_layout(root, 'train', 3, SIZE)
    assert img_dir.endswith(osp.join('images', '10k', 'train'))
    assert ann_dir.endswith(osp.join('labels', 'sem_seg', 'masks', 'train'))
    ds = BDD100KDataset(
        data_root=root, pipeline=LOAD,
        data_prefix=dict(img_path='images/10k/train',
                         seg_map_path='labels/sem_seg/masks/train'))
    assert len(ds) == 3
    seg = ds[0]['gt_seg_map']
    assert seg.shape == (96, 128)
    values = set(np.unique(np.stack(labels(ann_dir))).tolist())
    assert values <= set(BDD100K_IDS) | {255}
    assert {0, 10, 13} <= values  # road, sky, car


@pytest.mark.slow
def test_a_reused_split_that_differs_is_reported(tmp_path, monkeypatch):
    """A split that exists is used as it is; another number of images or
    another size (e.g. given as (width, height)) is reported, the same
    settings are not."""
    from winwin_mm.datasets.generated import atomic_split
    root = str(tmp_path / 'synthetic')
    SyntheticSceneDataset(data_root=root, split='val', num_images=2,
                          img_size=SIZE)
    logged = []
    monkeypatch.setattr(atomic_split, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    SyntheticSceneDataset(data_root=root, split='val', num_images=2,
                          img_size=SIZE)
    assert logged == []
    ds = SyntheticSceneDataset(data_root=root, split='val', num_images=2,
                               img_size=SIZE[::-1])
    assert len(ds) == 2 and len(logged) == 1
    assert '(96, 128), not (128, 96)' in logged[0]
    assert '(height, width)' in logged[0]
    SyntheticSceneDataset(data_root=root, split='val', num_images=3,
                          img_size=SIZE)
    assert len(logged) == 2 and 'holds 2 images, not 3' in logged[1]
