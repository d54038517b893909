"""Every task at the benchmarks' real frame sizes, none of them a multiple of
the 16-pixel patch: ``tools/train.py`` (window training, temperature tuning
on whole training frames of that size, validation) and ``tools/test.py``
(one pass, tiling or slide, ``--out``), with tiny models on generated data
in the real on-disk layouts:

- optical flow: MPI-Sintel 436x1024 (dense), KITTI-15 375x1242 (sparse,
  Fl-all), Spring 1080x1920 (ground truth at 2x);
- segmentation: 375x500 images in the BDD100K layout (mmseg's IoUMetric);
- depth: 481x641 images in the NYUv2 layout (mmseg's DepthMetric).
"""
import json
import os.path as osp
import re

import cv2
import mmcv
import numpy as np
import pytest
from e2e_helpers import ROOT, tiny_bdd_options, tiny_nyu_options
from e2e_helpers import run_tool as _run

from winwin_mm.datasets import (generate_bdd100k_layout, generate_nyu_layout,
                                generate_sintel_layout, read_flow, write_flow)

TRAIN = osp.join(ROOT, 'tools', 'train.py')
TEST = osp.join(ROOT, 'tools', 'test.py')

# The paper's Sintel config with a tiny model, 2 iterations on windows of
# 4x4 tokens (frame 2: 3 flow-guided ones), temperature tuned on one whole
# training frame, validation at the end; DATASETS fills in the data.
FLOW_CONFIG = """
_base_ = [{base!r}]
model = dict(
    backbone=dict(init_cfg=None, arch=None, embed_dims=32, num_layers=2,
                  num_heads=2, out_indices=[1]),
    decoder=dict(init_cfg=None, in_channels=32, embed_dims=32, num_layers=3,
                 num_heads=2, out_indices=[0, 1, 2]),
    decode_head=dict(in_channels=[32, 32, 32, 32], channels=16,
                     layer_dims=[8, 16, 16, 32], last_dim=8))
windows = dict(type='FlowGuidedWindows', patch_size=16, num_windows=2,
               window_size=4, num_windows2=3, window_size2=4,
               stochasticity=0.3, mode='flow_guided')
loader = dict(batch_size=1, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    loader, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_delete_=True, pipeline=[*{train_steps}, windows,
                                          dict(type='PackFlowInputs')],
                 **{train_set}))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_delete_=True, pipeline=[dict(type='LoadFlowPair'),
                                          dict(type='PackFlowInputs')],
                 **{val_set}))
test_dataloader = val_dataloader
val_evaluator = dict(type='FlowMetric', name_depth={name_depth})
test_evaluator = val_evaluator
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=1,
         end=2)]
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
custom_hooks = [dict(type='TemperatureTuningHook', mode='search',
                     num_images=1, grid=(1.0, 1.2, 0.1),
                     objective='decode.epe', progress=False)]
randomness = dict(seed=0)
"""


def _texture(rng, H, W, shift):
    """A textured frame and the same frame moved by ``shift`` ``(u, v)``
    integer pixels (so the ground truth is exact)."""
    small = rng.integers(0, 256, (H // 8 + 1, W // 8 + 1, 3)).astype(
        np.float32)
    img = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(
        np.uint8)
    u, v = shift
    return img, np.ascontiguousarray(np.roll(img, (v, u), axis=(0, 1)))


def _write_kitti(root, num_pairs=2, size=(375, 1242)):
    """KITTI-15 ``training/image_2/XXXXXX_1{0,1}.png`` and sparse
    ``flow_occ/XXXXXX_10.png`` (about 40 % of the pixels measured)."""
    rng = np.random.default_rng(0)
    H, W = size
    for i in range(num_pairs):
        img1, img2 = _texture(rng, H, W, (3, -2))
        for name, img in ((f'{i:06d}_10.png', img1),
                          (f'{i:06d}_11.png', img2)):
            mmcv.imwrite(img, osp.join(root, 'training', 'image_2', name))
        flow = np.empty((H, W, 2), np.float32)
        flow[...] = (3, -2)
        write_flow(osp.join(root, 'training', 'flow_occ', f'{i:06d}_10.png'),
                   flow, rng.random((H, W)) < 0.4)


def _write_spring(root, size=(1080, 1920)):
    """Spring ``train/SSSS/frame_left/frame_left_000{1,2}.png`` and the
    forward flow at 2x, ``flow_FW_left/flow_FW_left_0001.flo5``, for one
    training sequence (0001) and the validation one (0041)."""
    rng = np.random.default_rng(1)
    H, W = size
    for seq in ('0001', '0041'):
        base = osp.join(root, 'train', seq)
        img1, img2 = _texture(rng, H, W, (4, 1))
        for n, img in ((1, img1), (2, img2)):
            mmcv.imwrite(img, osp.join(base, 'frame_left',
                                       f'frame_left_{n:04d}.png'))
        flow = np.empty((2 * H, 2 * W, 2), np.float32)
        flow[...] = (4, 1)
        valid = np.ones((2 * H, 2 * W), bool)
        valid[:8] = False  # unknown sub-pixels along the top
        write_flow(osp.join(base, 'flow_FW_left', 'flow_FW_left_0001.flo5'),
                   flow, valid)


# name: (frame size, dataset writer, train steps before the windows,
#        train set, val set, .flo name depth, val pairs)
FLOW_CASES = {
    'sintel': ((436, 1024), None,
               # The Sintel config's augmentation and 432x1024 crop.
               "[dict(type='LoadFlowPair'), dict(type='FlowRandomScale', "
               "crop_size=(432, 1024)), dict(type='FlowRandomCrop', "
               "crop_size=(432, 1024)), dict(type='FlowRandomFlip'), "
               "dict(type='FlowColorJitter')]",
               "dict(type='SintelDataset', data_root=ROOT, split='subtrain', "
               "pass_style=('clean', 'final'))",
               "dict(type='SintelDataset', data_root=ROOT, split='subval', "
               "pass_style='clean')", 2, 1),
    'kitti': ((375, 1242), _write_kitti,
              # Whole sparse frames: windows on the real size.
              "[dict(type='LoadFlowPair')]",
              "dict(type='KITTIFlowDataset', data_root=ROOT, split='train')",
              "dict(type='KITTIFlowDataset', data_root=ROOT, split='train')",
              1, 2),
    'spring': ((1080, 1920), _write_spring,
               # The Spring config's training: whole Full-HD frames, the 2x
               # ground truth brought to the frame's size.
               "[dict(type='LoadFlowPair', gt_to_image_size=True), "
               "dict(type='FlowRandomFlip'), dict(type='FlowColorJitter')]",
               "dict(type='SpringDataset', data_root=ROOT, "
               "split='subtrain', camera='left', direction='FW')",
               "dict(type='SpringDataset', data_root=ROOT, split='subval', "
               "camera='left', direction='FW')", 3, 1),
}


def _flow_config(tmp_path, name):
    size, writer, steps, train_set, val_set, depth, _ = FLOW_CASES[name]
    root = tmp_path / name
    if writer is None:
        generate_sintel_layout(str(root), num_train_scenes=1,
                               num_val_scenes=1, frames_per_scene=2,
                               size=size, seed=0)
    else:
        writer(str(root))
    cfg = tmp_path / f'{name}.py'
    root_repr = repr(str(root))
    cfg.write_text(FLOW_CONFIG.format(
        base=osp.join(ROOT, 'configs', 'winwin', 'vitb_flow_sintel.py'),
        train_steps=steps, train_set=train_set.replace('ROOT', root_repr),
        val_set=val_set.replace('ROOT', root_repr), name_depth=depth))
    return str(cfg)


def _metrics(log: str, mode: str) -> dict:
    line = [ln for ln in log.splitlines() if f'Iter({mode})' in ln]
    assert line, log[-3000:]
    return {k: float(v) for k, v in re.findall(
        r'([\w.+-]+): (-?[0-9.]+(?:e-?\d+)?|nan)', line[-1])}


@pytest.mark.slow
@pytest.mark.parametrize('name', list(FLOW_CASES))
def test_flow_at_the_benchmark_size(name, tmp_path):
    (H, W), *_, num_val = FLOW_CASES[name]
    cfg = _flow_config(tmp_path, name)
    work = tmp_path / 'work'
    log = _run(TRAIN, cfg, '--work-dir', str(work))
    assert re.search(r'Iter\(train\) \[2/2\].*decode\.loss_flow: [\d.]+',
                     log), log[-3000:]
    # The temperature was tuned on whole training frames of the real size.
    assert (f'on 1 full-resolution training images (the first: {H}x{W} '
            'pixels)') in log, log[-3000:]
    report = json.loads((work / 'temperature' /
                         'temperature.json').read_text())
    assert report['curve'] and all(np.isfinite(y) for _, y in
                                   report['curve'])
    assert np.isfinite(_metrics(log, 'val')['EPE'])

    out = tmp_path / 'out'
    log = _run(TEST, cfg, str(work / 'iter_2.pth'), '--work-dir',
               str(tmp_path / 'test'), '--out', str(out))
    whole = _metrics(log, 'test')
    assert np.isfinite(whole['EPE']) and 0 <= whole['Fl'] <= 100
    # One .flo per validation pair, at the frame's exact size.
    flos = sorted(out.rglob('*.flo'))
    assert len(flos) == num_val
    for flo in flos:
        pred, valid = read_flow(str(flo))
        assert pred.shape == (H, W, 2) and valid.all()
    if name == 'spring':  # SEQ/camera/frame names (name_depth=3)
        assert flos[0].relative_to(out).parts == (
            '0041', 'frame_left', 'frame_left_0001.flo')
    if name == 'sintel':  # CroCo-Flow's tiling on the padded frames
        tile_out = tmp_path / 'tile_out'
        log = _run(TEST, cfg, str(work / 'iter_2.pth'), '--work-dir',
                   str(tmp_path / 'tile'), '--out', str(tile_out),
                   '--cfg-options', 'model.test_cfg.mode=tile',
                   'model.test_cfg.crop_size=(320,384)',
                   'model.test_cfg.overlap=0.5')
        assert np.isfinite(_metrics(log, 'test')['EPE'])
        tiled, _ = read_flow(str(tile_out / flos[0].relative_to(out)))
        whole_flow, _ = read_flow(str(flos[0]))
        # Tiles lose the global context: another prediction, same size.
        assert tiled.shape == (H, W, 2)
        assert np.abs(tiled - whole_flow).max() > 1e-4, np.abs(
            tiled - whole_flow).max()


def _png_shapes(folder):
    return {mmcv.imread(str(p), flag='unchanged').shape[:2]
            for p in folder.rglob('*.png')}


@pytest.mark.slow
def test_segmentation_at_375x500(tmp_path):
    root = tmp_path / 'bdd100k'
    generate_bdd100k_layout(str(root), 'train', 2, (375, 500), 0)
    generate_bdd100k_layout(str(root), 'val', 2, (375, 500), 1)
    config = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win22_bdd.py')
    opts = tiny_bdd_options(root, 2) + [
        'train_cfg.val_interval=2', 'custom_hooks.0.num_images=1',
        'custom_hooks.0.grid=[1.0,1.2,0.1]', 'custom_hooks.0.progress=False']
    work = tmp_path / 'work'
    log = _run(TRAIN, config, '--work-dir', str(work), '--cfg-options',
               *opts)
    assert ('full-resolution training images (the first: 375x500 pixels)'
            in log), log[-3000:]
    assert 0 <= _metrics(log, 'val')['mIoU'] <= 100

    out = tmp_path / 'out'
    log = _run(TEST, config, str(work / 'iter_2.pth'), '--work-dir',
               str(tmp_path / 'test'), '--out', str(out), '--cfg-options',
               *opts)
    whole = _metrics(log, 'test')
    assert 0 <= whole['mIoU'] <= 100
    assert _png_shapes(out) == {(375, 500)}  # IoUMetric's label maps
    log = _run(TEST, config, str(work / 'iter_2.pth'), '--work-dir',
               str(tmp_path / 'slide'), '--cfg-options', *opts,
               'model.test_cfg.mode=slide',
               'model.test_cfg.crop_size=(128,128)',
               'model.test_cfg.stride=(96,96)')
    assert 0 <= _metrics(log, 'test')['mIoU'] <= 100


@pytest.mark.slow
def test_depth_at_481x641(tmp_path):
    root = tmp_path / 'nyu'
    generate_nyu_layout(str(root), 'train', 2, (481, 641), 0)
    generate_nyu_layout(str(root), 'test', 2, (481, 641), 1)
    config = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win14_nyu.py')
    opts = tiny_nyu_options(root) + ['custom_hooks.0.grid=[1.0,1.2,0.1]']
    work = tmp_path / 'work'
    log = _run(TRAIN, config, '--work-dir', str(work), '--cfg-options',
               *opts)
    assert ('full-resolution training images (the first: 481x641 pixels)'
            in log), log[-3000:]
    assert np.isfinite(_metrics(log, 'val')['rmse'])

    out = tmp_path / 'out'
    log = _run(TEST, config, str(work / 'iter_3.pth'), '--work-dir',
               str(tmp_path / 'test'), '--out', str(out), '--cfg-options',
               *opts)
    whole = _metrics(log, 'test')
    assert 0 <= whole['d1'] <= 1 and np.isfinite(whole['rmse'])
    assert _png_shapes(out) == {(481, 641)}  # depth in millimetres
    log = _run(TEST, config, str(work / 'iter_3.pth'), '--work-dir',
               str(tmp_path / 'slide'), '--cfg-options', *opts,
               'model.test_cfg.mode=slide',
               'model.test_cfg.crop_size=(128,128)',
               'model.test_cfg.stride=(96,96)')
    slide = _metrics(log, 'test')
    assert 0 <= slide['d1'] <= 1 and slide['rmse'] != whole['rmse']
