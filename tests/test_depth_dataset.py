"""Generated rooms: exact depth, NYU layout read by mmseg's NYUDataset,
millimetre PNGs, determinism, atomic writing, generation on first use."""
import os
import os.path as osp
import zlib

import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401
from mmseg.datasets import NYUDataset
from mmseg.registry import DATASETS
from winwin_mm.datasets import SyntheticNYUDataset, generate_nyu_layout
from winwin_mm.datasets.generated import room_dataset, rooms
from winwin_mm.datasets.generated.rooms import (FOCAL_PER_WIDTH, ROOM_TYPES,
                                                render_room)

SIZE = (64, 96)  # height, width
LOAD = [dict(type='LoadImageFromFile'),
        dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')  # as the runner does: mmseg's transforms


def test_ray_primitives_are_exact():
    origin = np.zeros(3)
    dirs = np.array([[0., 0., 1.], [0., 0.6, 0.8], [1., 0., 0.]])
    t = rooms._ray_sphere(origin, dirs, np.array([0., 0., 5.]), 1.)
    assert t[0] == pytest.approx(4.0) and np.isinf(t[1:]).all()
    t, axis = rooms._ray_box(origin, dirs, np.array([-1., -1., 2.]),
                             np.array([1., 1., 3.]))
    # Straight ahead: enters the z = 2 face; at 0.6/0.8 the ray enters the
    # box through the face z = 2 at height 1.5 > 1: a miss.
    assert t[0] == pytest.approx(2.0) and axis[0] == 2
    assert np.isinf(t[1:]).all()


def test_depth_is_camera_z_of_an_exact_room(monkeypatch):
    """An empty room, camera 1.5 m above the floor looking straight ahead at
    a wall 5 m away: wall pixels are at depth 5 everywhere (z, not the ray
    length) and floor row v at ``1.5 f / (v + 0.5 - H / 2)``."""
    room = dict(lo=np.array([-20., 0., -1.]), hi=np.array([20., 3., 5.]),
                cam=np.array([0., 1.5, 0.]), pose=np.eye(3),
                mats=[rooms._material(np.random.default_rng(0),
                                      (0.5, 0.5, 0.5), 0.)] * 6,
                boxes=[], spheres=[], glass=None,
                light=np.array([0., 2.8, 2.]), exposure=1.)
    monkeypatch.setattr(rooms, '_build_room', lambda rng: room)
    W, H = 160, 120
    img, depth = render_room(np.random.default_rng(0), H, W)
    assert img.shape == (H, W, 3) and depth.shape == (H, W)
    f = FOCAL_PER_WIDTH * W
    v = np.arange(H) + 0.5 - H / 2  # pixel centre rows w.r.t. the axis
    floor = np.where(v > 0, 1.5 * f / np.maximum(v, 1e-9), np.inf)
    ceiling = np.where(v < 0, 1.5 * f / np.maximum(-v, 1e-9), np.inf)
    expected = np.minimum(np.minimum(floor, ceiling), 5.0)  # per row
    np.testing.assert_allclose(depth, np.repeat(expected[:, None], W, 1),
                               rtol=1e-5)
    assert (depth[H // 2] == pytest.approx(5.0))


def test_layout_loads_in_mmseg_nyu_dataset(tmp_path):
    root = str(tmp_path / 'nyu')
    img_dir, ann_dir = generate_nyu_layout(root, 'train', 4, SIZE, seed=0)
    assert img_dir == osp.join(root, 'images', 'train')
    assert ann_dir == osp.join(root, 'annotations', 'train')
    imgs, anns = sorted(os.listdir(img_dir)), sorted(os.listdir(ann_dir))
    assert [f[:-4] for f in imgs] == [f[:-4] for f in anns] and len(imgs) == 4
    png = mmcv.imread(osp.join(ann_dir, anns[0]), flag='unchanged')
    assert png.dtype == np.uint16 and png.shape == (64, 96)
    ds = NYUDataset(data_root=root, pipeline=LOAD, data_prefix=dict(
        img_path='images/train', depth_map_path='annotations/train'))
    assert len(ds) == 4
    for item in (ds[i] for i in range(4)):
        assert item['img'].shape == (64, 96, 3)
        assert 0 <= item['category_id'] < len(NYUDataset.METAINFO['classes'])
        name = osp.basename(item['img_path'])
        assert NYUDataset.METAINFO['classes'][item['category_id']] in \
            ROOM_TYPES and name.startswith(
                NYUDataset.METAINFO['classes'][item['category_id']])
    # Millimetres on disk, metres after depth_rescale_factor=1e-3: the same
    # depth as rendered (image index 0 of split 'train', seed 0).
    rng = np.random.default_rng([0, zlib.crc32(b'train'), 0])
    rooms.room_type(rng)
    _, depth = render_room(rng, *SIZE)
    loaded = [ds[i] for i in range(4)
              if ds[i]['img_path'].endswith('_000000.jpg')][0]
    np.testing.assert_allclose(loaded['gt_depth_map'], depth, atol=5e-4)
    valid = depth[depth > 0]
    assert valid.min() > 0.05 and valid.max() <= 10.0


def test_deterministic_by_seed_and_split(tmp_path):
    runs = {}
    for name, split, seed, count in [('a', 'train', 0, 3),
                                     ('b', 'train', 0, 5),
                                     ('c', 'train', 1, 3),
                                     ('d', 'test', 0, 3)]:
        _, ann_dir = generate_nyu_layout(str(tmp_path / name), split, count,
                                         SIZE, seed=seed)
        runs[name] = {f: mmcv.imread(osp.join(ann_dir, f), flag='unchanged')
                      for f in sorted(os.listdir(ann_dir))}
    # Image i does not depend on how many images are generated.
    assert all(np.array_equal(v, runs['b'][k]) for k, v in runs['a'].items())
    first = [v for k, v in runs['a'].items() if k.endswith('_000000.png')]
    for other in ('c', 'd'):
        second = [v for k, v in runs[other].items()
                  if k.endswith('_000000.png')]
        assert not np.array_equal(first[0], second[0])


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    render, calls = room_dataset.render_room, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render(*args)

    monkeypatch.setattr(room_dataset, 'render_room', failing)
    with pytest.raises(KeyboardInterrupt):
        generate_nyu_layout(str(tmp_path), 'train', 5, SIZE)
    assert not osp.exists(tmp_path / 'images' / 'train')
    assert not osp.exists(tmp_path / 'annotations' / 'train')
    assert [p for p in tmp_path.iterdir() if p.name.startswith('.tmp')] == []
    monkeypatch.setattr(room_dataset, 'render_room', render)
    img_dir, _ = generate_nyu_layout(str(tmp_path), 'train', 5, SIZE)
    assert len(os.listdir(img_dir)) == 5


def test_dataset_generates_on_first_use(tmp_path):
    root = str(tmp_path / 'synthetic_nyu')
    pipeline = LOAD + [dict(type='PackSegInputs')]
    ds = DATASETS.build(dict(type='SyntheticNYUDataset', data_root=root,
                             split='test', num_images=3, img_size=SIZE,
                             pipeline=pipeline))
    assert isinstance(ds, SyntheticNYUDataset) and len(ds) == 3
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 96)
    depth = sample['data_samples'].gt_depth_map.data
    assert depth.shape == (1, 64, 96) and 0 < depth.max() <= 10
    mtime = os.stat(osp.join(root, 'images', 'test')).st_mtime_ns
    assert len(SyntheticNYUDataset(data_root=root, split='test',
                                   num_images=3, img_size=SIZE)) == 3
    assert os.stat(osp.join(root, 'images', 'test')).st_mtime_ns == mtime
