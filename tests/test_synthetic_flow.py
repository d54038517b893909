"""The generated flow scenes: exact flow, determinism, layout, atomicity."""
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import DATASETS
from winwin_mm.datasets import (SintelDataset, SyntheticFlowDataset,
                                generate_sintel_layout, read_flow)
from winwin_mm.datasets.generated.flow_scenes import render_sequence

H, W = 96, 128


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def warp_errors(frame1, frame2, flow, owner1, owner2, margin=2):
    """Mean |frame1 - frame2 sampled at x + flow| over the pixels that stay
    visible (same top-most layer at the target, inside the image), away
    from layer edges; and the same without the flow, for scale."""
    h, w = owner1.shape
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    mx, my = xs + flow[..., 0], ys + flow[..., 1]
    warped = cv2.remap(frame2.astype(np.float32), mx, my, cv2.INTER_LINEAR)
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    tx = np.clip(np.round(mx).astype(int), 0, w - 1)
    ty = np.clip(np.round(my).astype(int), 0, h - 1)
    visible = inside & (owner2[ty, tx] == owner1)
    # Away from layer edges (soft, mixed colours) in frame 1.
    k = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    edges = cv2.dilate((cv2.Laplacian(owner1.astype(np.float32),
                                      cv2.CV_32F) != 0).astype(np.uint8), k)
    m = visible & (edges == 0)
    assert m.mean() > 0.3, 'too few pixels to check'
    f1 = frame1.astype(np.float32)
    warp_err = np.abs(warped - f1).mean(-1)[m].mean()
    still_err = np.abs(frame2.astype(np.float32) - f1).mean(-1)[m].mean()
    return warp_err, still_err


def test_warping_frame2_by_the_flow_gives_frame1():
    rng = np.random.default_rng(3)
    frames, flows, owners = render_sequence(rng, 4, 192, 256)
    assert len(frames) == 4 and len(flows) == 3
    assert frames[0].dtype == np.uint8 and frames[0].shape == (192, 256, 3)
    assert flows[0].dtype == np.float32 and flows[0].shape == (192, 256, 2)
    for t in range(3):
        err, still = warp_errors(frames[t], frames[t + 1], flows[t],
                                 owners[t], owners[t + 1])
        assert err < 3 and still > 4 * err, (t, err, still)
        # A flow off by one pixel is clearly worse: the check can fail.
        off, _ = warp_errors(frames[t], frames[t + 1], flows[t] + 1,
                             owners[t], owners[t + 1])
        assert off > 3 * err, (t, err, off)


def test_flow_magnitudes_cover_the_ranges():
    mags = []
    for seed in range(4):
        _, flows, _ = render_sequence(np.random.default_rng(seed), 6, H, W)
        mags += [np.linalg.norm(f, axis=-1).ravel() for f in flows]
    mags = np.concatenate(mags)
    for lo, hi in ((0, 10), (10, 40), (40, np.inf)):  # s0-10/s10-40/s40+
        assert ((mags >= lo) & (mags < hi)).mean() > 0.003, (lo, hi)


@pytest.mark.slow
def test_layout_and_sintel_splits(tmp_path):
    root = str(tmp_path / 'flow')
    assert generate_sintel_layout(root, num_train_scenes=2, num_val_scenes=2,
                                  frames_per_scene=3, size=(H, W), seed=0)
    scenes = ['scene_000', 'scene_001', 'temple_2', 'temple_3']
    for part in ('clean', 'final', 'flow'):
        assert sorted(os.listdir(osp.join(root, 'training', part))) == scenes
    img = mmcv.imread(osp.join(root, 'training/final/temple_2/'
                               'frame_0003.png'))
    assert img.shape == (H, W, 3)
    flow, valid = read_flow(osp.join(root, 'training/flow/scene_000/'
                                     'frame_0002.flo'))
    assert flow.shape == (H, W, 2) and valid.all()
    assert not osp.exists(osp.join(root, 'training/flow/scene_000/'
                                   'frame_0003.flo'))
    assert [f for f in os.listdir(root) if f.startswith('.tmp')] == []
    val = SintelDataset(root, split='subval')
    assert len(val) == 4 and {d['scene'] for d in
                              map(val.get_data_info, range(4))} == {
                                  'temple_2', 'temple_3'}
    assert len(SintelDataset(root, split='subtrain', pass_style='final')) == 4
    # A second call keeps the files.
    mtime = os.stat(osp.join(root, 'training/clean/scene_000/'
                             'frame_0001.png')).st_mtime_ns
    assert not generate_sintel_layout(root, 2, 2, 3, (H, W), seed=0)
    assert os.stat(osp.join(root, 'training/clean/scene_000/'
                            'frame_0001.png')).st_mtime_ns == mtime


def read_all(root):
    out = []
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            out.append((osp.relpath(osp.join(dirpath, f), root),
                        open(osp.join(dirpath, f), 'rb').read()))
    return out


def test_deterministic_by_seed(tmp_path):
    runs = {}
    for name, n_train, seed in (('a', 1, 0), ('b', 1, 0), ('c', 1, 1),
                                ('d', 2, 0)):
        generate_sintel_layout(str(tmp_path / name), n_train, 1, 2, (H, W),
                               seed)
        runs[name] = dict(read_all(str(tmp_path / name)))
    assert runs['a'] == runs['b']
    assert runs['a'] != runs['c']
    # A scene does not depend on how many scenes are generated.
    for key, data in runs['a'].items():
        assert runs['d'][key] == data, key


def test_generator_cleans_up_after_a_failure(tmp_path, monkeypatch):
    from winwin_mm.datasets.generated import flow_dataset

    def boom(*args, **kwargs):
        raise RuntimeError('interrupted')

    monkeypatch.setattr(flow_dataset, 'render_sequence', boom)
    root = str(tmp_path / 'flow')
    with pytest.raises(RuntimeError, match='interrupted'):
        generate_sintel_layout(root, 1, 0, 2, (H, W))
    assert os.listdir(root) == []  # no training/, no temporary folder


@pytest.mark.slow
def test_synthetic_flow_dataset_generates_on_first_use(tmp_path):
    root = str(tmp_path / 'synthetic_flow')
    cfg = dict(type='SyntheticFlowDataset', data_root=root, split='subval',
               num_train_scenes=1, num_val_scenes=2, frames_per_scene=2,
               img_size=(H, W), pipeline=[dict(type='LoadFlowPair')])
    ds = DATASETS.build(cfg)
    assert isinstance(ds, SyntheticFlowDataset) and len(ds) == 2
    r = ds[0]
    assert r['img'].shape == r['img2'].shape == (H, W, 3)
    assert r['gt_flow'].shape == (H, W, 2) and r['gt_flow_valid'].all()
    train = DATASETS.build(dict(cfg, split='subtrain'))
    assert len(train) == 1
    with pytest.raises(ValueError, match='num_val_scenes=3'):
        generate_sintel_layout(str(tmp_path / 'x'), 1, 3)


@pytest.mark.slow
def test_a_folder_from_another_generator_or_settings_is_reported(
        tmp_path, monkeypatch):
    """generator.json records the version and the per-scene settings; a
    folder without it, or with other values, is used but reported with the
    folder to delete; the matching folder is not."""
    import json

    from winwin_mm.datasets.generated import flow_dataset
    root = str(tmp_path / 'flow')
    assert generate_sintel_layout(root, 1, 2, 2, (H, W), seed=3)
    stamp = osp.join(root, 'training', 'generator.json')
    with open(stamp) as f:
        assert json.load(f) == dict(
            generator_version=flow_dataset.GENERATOR_VERSION,
            frames_per_scene=2, img_size=[H, W], seed=3)
    logged = []
    monkeypatch.setattr(flow_dataset, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    cfg = dict(type='SyntheticFlowDataset', data_root=root, split='subval',
               num_train_scenes=1, num_val_scenes=2, frames_per_scene=2,
               img_size=(H, W), seed=3)
    DATASETS.build(cfg)
    assert logged == []
    DATASETS.build(dict(cfg, seed=4))
    assert len(logged) == 1 and 'seed 3 (wanted 4)' in logged[0]
    assert osp.join(root, 'training') in logged[0]
    os.remove(stamp)
    logged.clear()
    ds = DATASETS.build(cfg)
    assert len(ds) == 2  # still usable
    assert len(logged) == 1 and 'older generator' in logged[0]
    assert osp.exists(osp.join(root, 'training', 'flow', 'temple_2'))
