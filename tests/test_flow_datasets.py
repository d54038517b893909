"""The flow datasets on tiny trees in their real layouts, and LoadFlowPair."""
import os.path as osp

import cv2
import h5py
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import DATASETS, TRANSFORMS
from winwin_mm.datasets import (FlowReadError, FlyingChairsDataset,
                                FlyingThings3DDataset, KITTIFlowDataset,
                                SintelDataset, SpringDataset,
                                TartanAirDataset, write_flow)


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def touch(root, *paths):
    for p in paths:
        path = root / p
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'')


def rel(root, info, key):
    return None if info[key] is None else osp.relpath(info[key], str(root))


def pairs(root, ds):
    return [(rel(root, d, 'img_path'), rel(root, d, 'img2_path'),
             rel(root, d, 'flow_path')) for d in ds]


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


# ---------------------------------------------------------------- Sintel


def sintel_tree(root, scenes=('alley_1', 'temple_2', 'temple_3')):
    for s in scenes:
        for p in ('clean', 'final'):
            touch(root, *[f'training/{p}/{s}/frame_{i:04d}.png'
                          for i in (1, 2, 3)])
        touch(root, *[f'training/flow/{s}/frame_{i:04d}.flo' for i in (1, 2)])
    touch(root, *[f'test/clean/market_1/frame_{i:04d}.png' for i in (1, 2, 3)])


@pytest.mark.slow
def test_sintel_splits(tmp_path):
    sintel_tree(tmp_path)
    train = SintelDataset(str(tmp_path), split='train')
    assert len(train) == 6
    assert pairs(tmp_path, [train[0]])[0] == (
        'training/clean/alley_1/frame_0001.png',
        'training/clean/alley_1/frame_0002.png',
        'training/flow/alley_1/frame_0001.flo')
    d = train.get_data_info(1)
    assert (d['scene'], d['frame'], d['pass_style']) == ('alley_1', 2,
                                                         'clean')
    sub = SintelDataset(str(tmp_path), split='subtrain')
    assert {d['scene'] for d in infos(sub)} == {'alley_1'}
    val = SintelDataset(str(tmp_path), split='subval', pass_style='final')
    assert [(d['scene'], d['frame']) for d in infos(val)] == [
        ('temple_2', 1), ('temple_2', 2), ('temple_3', 1), ('temple_3', 2)]
    assert all('/final/' in d['img_path'] for d in infos(val))
    both = SintelDataset(str(tmp_path), split='subval',
                         pass_style=('clean', 'final'))
    assert len(both) == 8
    test = SintelDataset(str(tmp_path), split='test')
    assert pairs(tmp_path, infos(test)) == [
        ('test/clean/market_1/frame_0001.png',
         'test/clean/market_1/frame_0002.png', None),
        ('test/clean/market_1/frame_0002.png',
         'test/clean/market_1/frame_0003.png', None)]
    assert SintelDataset.METAINFO['task'] == 'optical_flow'


def test_sintel_errors_and_lazy_init(tmp_path):
    missing = str(tmp_path / 'nowhere')
    ds = SintelDataset(missing, lazy_init=True)  # no scan yet
    with pytest.raises(FileNotFoundError, match='(?s)nowhere.*does not exist.*'
                       r'training/\{clean,final\}'):
        ds.full_init()
    sintel_tree(tmp_path, scenes=('alley_1', ))
    with pytest.raises(FileNotFoundError,
                       match="no image pairs for split 'subval'.*temple_2"):
        SintelDataset(str(tmp_path), split='subval')
    with pytest.raises(ValueError, match="unknown split 'val'"):
        SintelDataset(str(tmp_path), split='val')
    with pytest.raises(ValueError, match="pass_style='albedo'"):
        SintelDataset(str(tmp_path), pass_style='albedo')
    touch(tmp_path, 'training/flow/alley_1/frame_0003.flo')  # no frame 4
    with pytest.raises(FileNotFoundError, match='frame_0003.flo has no '
                       'frames 3 and 4'):
        SintelDataset(str(tmp_path))
    ds = DATASETS.build(dict(type='SintelDataset', data_root=missing,
                             lazy_init=True))
    assert isinstance(ds, SintelDataset)


# ---------------------------------------------------------- FlyingChairs


def test_flying_chairs_split_file(tmp_path):
    for i in range(1, 6):
        touch(tmp_path, *[f'data/{i:05d}_{s}' for s in
                          ('img1.ppm', 'img2.ppm', 'flow.flo')])
    (tmp_path / 'FlyingChairs_train_val.txt').write_text('1\n1\n2\n1\n2\n')
    train = FlyingChairsDataset(str(tmp_path), split='train')
    val = FlyingChairsDataset(str(tmp_path), split='val')
    assert [d['frame'] for d in infos(train)] == [1, 2, 4]
    assert pairs(tmp_path, infos(val)) == [
        ('data/00003_img1.ppm', 'data/00003_img2.ppm', 'data/00003_flow.flo'),
        ('data/00005_img1.ppm', 'data/00005_img2.ppm', 'data/00005_flow.flo')]
    (tmp_path / 'FlyingChairs_train_val.txt').write_text('1\n2\n')
    with pytest.raises(ValueError, match='has 2 entries but .* holds 5'):
        FlyingChairsDataset(str(tmp_path))
    (tmp_path / 'FlyingChairs_train_val.txt').unlink()
    with pytest.raises(FileNotFoundError, match='no split file'):
        FlyingChairsDataset(str(tmp_path))


# ------------------------------------------------------ FlyingThings3D


def test_flying_things_directions_and_cameras(tmp_path):
    for p in ('cleanpass', 'finalpass'):
        for cam in ('left', 'right'):
            touch(tmp_path, *[f'frames_{p}/TRAIN/A/0000/{cam}/{i:04d}.png'
                              for i in (6, 7, 8)])
    for d, word in (('into_future', 'Future'), ('into_past', 'Past')):
        for cam, c in (('left', 'L'), ('right', 'R')):
            touch(tmp_path, *[
                f'optical_flow/TRAIN/A/0000/{d}/{cam}/'
                f'OpticalFlowInto{word}_{i:04d}_{c}.pfm' for i in (6, 7, 8)])
    fut = FlyingThings3DDataset(str(tmp_path))
    flow_dir = 'optical_flow/TRAIN/A/0000/into_future/left/'
    assert pairs(tmp_path, infos(fut)) == [
        ('frames_cleanpass/TRAIN/A/0000/left/0006.png',
         'frames_cleanpass/TRAIN/A/0000/left/0007.png',
         flow_dir + 'OpticalFlowIntoFuture_0006_L.pfm'),
        ('frames_cleanpass/TRAIN/A/0000/left/0007.png',
         'frames_cleanpass/TRAIN/A/0000/left/0008.png',
         flow_dir + 'OpticalFlowIntoFuture_0007_L.pfm')]
    past = FlyingThings3DDataset(str(tmp_path), direction='into_past',
                                 camera='right', pass_style='final')
    assert pairs(tmp_path, infos(past)) == [
        ('frames_finalpass/TRAIN/A/0000/right/0007.png',
         'frames_finalpass/TRAIN/A/0000/right/0006.png',
         'optical_flow/TRAIN/A/0000/into_past/right/'
         'OpticalFlowIntoPast_0007_R.pfm'),
        ('frames_finalpass/TRAIN/A/0000/right/0008.png',
         'frames_finalpass/TRAIN/A/0000/right/0007.png',
         'optical_flow/TRAIN/A/0000/into_past/right/'
         'OpticalFlowIntoPast_0008_R.pfm')]
    d = past.get_data_info(0)
    assert (d['scene'], d['frame'], d['camera'], d['direction']) == (
        'A/0000', 7, 'right', 'into_past')
    every = FlyingThings3DDataset(
        str(tmp_path), pass_style=('clean', 'final'),
        direction=('into_future', 'into_past'), camera=('left', 'right'))
    assert len(every) == 16
    with pytest.raises(FileNotFoundError, match="split 'test'"):
        FlyingThings3DDataset(str(tmp_path), split='test')


# ----------------------------------------------------------------- KITTI


@pytest.mark.slow
def test_kitti_2015_pairs_and_subsplits(tmp_path):
    for i in range(12):
        touch(tmp_path, f'training/image_2/{i:06d}_10.png',
              f'training/image_2/{i:06d}_11.png',
              f'training/flow_occ/{i:06d}_10.png')
    # Multi-view frames next to the pair are not pairs.
    touch(tmp_path, 'training/image_2/000000_09.png',
          'testing/image_2/000000_10.png', 'testing/image_2/000000_11.png')
    train = KITTIFlowDataset(str(tmp_path), year=2015)
    assert len(train) == 12
    assert pairs(tmp_path, [train[3]])[0] == (
        'training/image_2/000003_10.png', 'training/image_2/000003_11.png',
        'training/flow_occ/000003_10.png')
    sub = KITTIFlowDataset(str(tmp_path), split='subtrain')
    val = KITTIFlowDataset(str(tmp_path), split='subval')
    assert [d['frame'] for d in infos(sub)] == [0, 1]
    assert [d['frame'] for d in infos(val)] == list(range(2, 12))
    test = KITTIFlowDataset(str(tmp_path), split='test')
    assert pairs(tmp_path, infos(test)) == [
        ('testing/image_2/000000_10.png', 'testing/image_2/000000_11.png',
         None)]


def test_kitti_2012(tmp_path):
    touch(tmp_path, 'training/colored_0/000000_10.png',
          'training/colored_0/000000_11.png',
          'training/flow_occ/000000_10.png')
    ds = KITTIFlowDataset(str(tmp_path), year=2012)
    assert pairs(tmp_path, infos(ds)) == [
        ('training/colored_0/000000_10.png',
         'training/colored_0/000000_11.png',
         'training/flow_occ/000000_10.png')]
    assert ds.get_data_info(0)['year'] == 2012
    with pytest.raises(ValueError, match='2015 only'):
        KITTIFlowDataset(str(tmp_path), year=2012, split='subval')
    with pytest.raises(FileNotFoundError, match='no frame pair '
                       '000000_10.png / 000000_11.png in .*image_2'):
        KITTIFlowDataset(str(tmp_path), year=2015)  # 2012 has colored_0
    touch(tmp_path, 'training/flow_occ/000001_10.png')  # no frames
    with pytest.raises(FileNotFoundError, match='000001_10.png / '
                       '000001_11.png'):
        KITTIFlowDataset(str(tmp_path), year=2012)


# ---------------------------------------------------------------- Spring


def spring_tree(root, scenes=('0001', '0041')):
    for s in scenes:
        touch(root, *[f'train/{s}/frame_left/frame_left_{i:04d}.png'
                      for i in (1, 2, 3)])
        touch(root, *[f'train/{s}/flow_FW_left/flow_FW_left_{i:04d}.flo5'
                      for i in (1, 2)])
        touch(root, *[f'train/{s}/flow_BW_left/flow_BW_left_{i:04d}.flo5'
                      for i in (2, 3)])
    touch(root, *[f'test/0003/frame_left/frame_left_{i:04d}.png'
                  for i in (1, 2)])


@pytest.mark.slow
def test_spring_splits_and_directions(tmp_path):
    spring_tree(tmp_path)
    train = SpringDataset(str(tmp_path))  # the right camera is missing
    assert len(train) == 8
    val = SpringDataset(str(tmp_path), split='subval')
    assert {d['scene'] for d in infos(val)} == {'0041'}
    assert pairs(tmp_path, infos(val)) == [
        ('train/0041/frame_left/frame_left_0001.png',
         'train/0041/frame_left/frame_left_0002.png',
         'train/0041/flow_FW_left/flow_FW_left_0001.flo5'),
        ('train/0041/frame_left/frame_left_0002.png',
         'train/0041/frame_left/frame_left_0003.png',
         'train/0041/flow_FW_left/flow_FW_left_0002.flo5'),
        ('train/0041/frame_left/frame_left_0002.png',
         'train/0041/frame_left/frame_left_0001.png',
         'train/0041/flow_BW_left/flow_BW_left_0002.flo5'),
        ('train/0041/frame_left/frame_left_0003.png',
         'train/0041/frame_left/frame_left_0002.png',
         'train/0041/flow_BW_left/flow_BW_left_0003.flo5')]
    sub = SpringDataset(str(tmp_path), split='subtrain', direction='FW')
    assert [(d['scene'], d['frame'], d['direction']) for d in infos(sub)] \
        == [('0001', 1, 'FW'), ('0001', 2, 'FW')]
    test = SpringDataset(str(tmp_path), split='test', direction='FW')
    assert pairs(tmp_path, infos(test)) == [
        ('test/0003/frame_left/frame_left_0001.png',
         'test/0003/frame_left/frame_left_0002.png', None)]
    with pytest.raises(FileNotFoundError, match="cameras \\('right',\\)"):
        SpringDataset(str(tmp_path), camera='right')


# ------------------------------------------------------------- TartanAir


def test_tartanair_pairs(tmp_path):
    traj = 'abandonedfactory/Easy/P000'
    touch(tmp_path, *[f'{traj}/image_left/{i:06d}_left.png' for i in range(3)])
    touch(tmp_path, f'{traj}/flow/000000_000001_flow.npy',
          f'{traj}/flow/000000_000001_mask.npy',
          f'{traj}/flow/000001_000002_flow.npy')
    nested = 'office/office/Hard/P001'  # unpacked one level deeper
    touch(tmp_path, *[f'{nested}/image_left/{i:06d}_left.png'
                      for i in range(2)])
    touch(tmp_path, f'{nested}/flow/000000_000001_flow.npy')
    ds = TartanAirDataset(str(tmp_path))
    assert pairs(tmp_path, infos(ds)) == [
        (f'{traj}/image_left/000000_left.png',
         f'{traj}/image_left/000001_left.png',
         f'{traj}/flow/000000_000001_flow.npy'),
        (f'{traj}/image_left/000001_left.png',
         f'{traj}/image_left/000002_left.png',
         f'{traj}/flow/000001_000002_flow.npy'),
        (f'{nested}/image_left/000000_left.png',
         f'{nested}/image_left/000001_left.png',
         f'{nested}/flow/000000_000001_flow.npy')]
    d = ds.get_data_info(0)
    assert d['scene'] == traj and d['frame'] == 0
    assert d['flow_mask_path'].endswith('000000_000001_mask.npy')
    assert ds.get_data_info(1)['flow_mask_path'] is None
    assert len(TartanAirDataset(str(tmp_path), difficulty='Hard')) == 1


# ----------------------------------------------------------- LoadFlowPair


def real_pair(root, flow_scale=1):
    """A Sintel-layout pair with real 6x8 frames and a known flow."""
    h, w = 6, 8
    img1 = np.zeros((h, w, 3), np.uint8)
    img1[..., 0] = 255  # pure blue, BGR
    img2 = np.full((h, w, 3), 40, np.uint8)
    for p, img in (('frame_0001', img1), ('frame_0002', img2)):
        path = root / 'training' / 'clean' / 'alley_1' / f'{p}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img)
    flow = np.random.default_rng(0).normal(
        0, 3, (h * flow_scale, w * flow_scale, 2)).astype(np.float32)
    valid = np.ones(flow.shape[:2], bool)
    valid[0, 0] = False
    return img1, img2, flow, valid


def test_load_flow_pair_contract(tmp_path):
    img1, img2, flow, valid = real_pair(tmp_path)
    write_flow(str(tmp_path / 'training/flow/alley_1/frame_0001.flo'), flow,
               valid)
    ds = SintelDataset(str(tmp_path), pipeline=[dict(type='LoadFlowPair')])
    r = ds[0]
    assert r['img'].dtype == np.uint8 and r['img'].shape == (6, 8, 3)
    np.testing.assert_array_equal(r['img'], img1)  # BGR as on disk
    np.testing.assert_array_equal(r['img2'], img2)
    assert r['gt_flow'].dtype == np.float32 and r['gt_flow'].shape == (6, 8,
                                                                       2)
    assert r['gt_flow_valid'].dtype == bool
    np.testing.assert_array_equal(r['gt_flow_valid'], valid)
    np.testing.assert_array_equal(r['gt_flow'][valid], flow[valid])
    assert tuple(r['img_shape']) == (6, 8) and tuple(r['ori_shape']) == (6, 8)
    assert r['flow_fields'] == ['gt_flow', 'gt_flow_valid']
    for key in ('img_path', 'img2_path', 'flow_path'):
        assert osp.isfile(r[key])


def test_load_flow_pair_without_ground_truth(tmp_path):
    real_pair(tmp_path)
    t = TRANSFORMS.build(dict(type='LoadFlowPair'))
    r = t(dict(img_path=str(tmp_path / 'training/clean/alley_1/'
                            'frame_0001.png'),
               img2_path=str(tmp_path / 'training/clean/alley_1/'
                             'frame_0002.png'), flow_path=None))
    assert r['img'].shape == r['img2'].shape == (6, 8, 3)
    assert r['flow_fields'] == [] and 'gt_flow' not in r


def test_load_flow_pair_spring_double_resolution(tmp_path):
    _, _, flow, valid = real_pair(tmp_path, flow_scale=2)
    flow[~valid] = np.nan
    path = str(tmp_path / 'flow.flo5')
    with h5py.File(path, 'w') as f:
        f.create_dataset('flow', data=flow)
    frames = str(tmp_path / 'training/clean/alley_1/frame_000{}.png')
    # SpringDataset declares its 2x ground truth in every sample.
    sample = dict(img_path=frames.format(1), img2_path=frames.format(2),
                  flow_path=path, gt_flow_scale=2)
    keep = TRANSFORMS.build(dict(type='LoadFlowPair'))(dict(sample))
    assert keep['gt_flow'].shape == (12, 16, 2)  # for Spring's metric
    assert keep['gt_flow_scale'] == 2
    to_img = TRANSFORMS.build(dict(type='LoadFlowPair',
                                   gt_to_image_size=True))(dict(sample))
    assert to_img['gt_flow'].shape == (6, 8, 2)
    assert to_img['gt_flow_scale'] == 1
    # Undeclared, the 2x file is an error that names it (no size guessing).
    undeclared = dict(sample, gt_flow_scale=1)
    with pytest.raises(ValueError, match=r'flow\.flo5: ground truth of '
                       r'12x16 pixels is not gt_flow_scale=1 times the 6x8'):
        TRANSFORMS.build(dict(type='LoadFlowPair'))(undeclared)
    # One sub-pixel per pixel, values unchanged (already in image pixels).
    np.testing.assert_array_equal(to_img['gt_flow'][1:],
                                  flow[::2, ::2][1:])
    assert not to_img['gt_flow_valid'][0, 0]
    assert to_img['gt_flow_valid'].sum() == 47


def test_load_flow_pair_errors_name_the_file(tmp_path):
    real_pair(tmp_path)
    frames = str(tmp_path / 'training/clean/alley_1/frame_000{}.png')
    bad_flow = tmp_path / 'bad.flo'
    bad_flow.write_bytes(b'PIEH' + bytes(4))
    t = TRANSFORMS.build(dict(type='LoadFlowPair'))
    with pytest.raises(FlowReadError, match='bad.flo: truncated'):
        t(dict(img_path=frames.format(1), img2_path=frames.format(2),
               flow_path=str(bad_flow)))
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG not really')
    with pytest.raises(ValueError, match='broken.png: cannot be decoded'):
        t(dict(img_path=frames.format(1), img2_path=str(broken),
               flow_path=None))
    with pytest.raises(FileNotFoundError, match='frame_0009.png'):
        t(dict(img_path=frames.format(9), img2_path=frames.format(2),
               flow_path=None))
