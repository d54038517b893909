"""End to end: tools/train.py -> --resume -> tools/test.py for optical flow,
with the paper's Sintel config shrunk through --cfg-options (as a user
would), on a tiny training mix in the real on-disk layouts of FlyingChairs,
FlyingThings3D and MPI-Sintel, written from generated scenes."""
import os.path as osp
import re
import shutil

import cv2
import mmcv
import numpy as np
import pytest
import torch
from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run

from winwin_mm.datasets import generate_sintel_layout, read_flow, write_pfm
from winwin_mm.utils.checkpoint import mmengine_safe_globals

CONFIG = osp.join(ROOT, 'configs', 'winwin', 'vitb_flow_sintel.py')
H, W = 64, 96  # generated frames: 4x6 tokens


@pytest.fixture(scope='module')
def flow_roots(tmp_path_factory):
    """Sintel (1 training scene, temple_2 and temple_3), and one Chairs and
    one Things pair made of the training scene's frames and flow."""
    base = tmp_path_factory.mktemp('flow')
    sintel = base / 'Sintel'
    generate_sintel_layout(str(sintel), num_train_scenes=1, num_val_scenes=2,
                           frames_per_scene=3, size=(H, W), seed=0)
    src = sintel / 'training'
    f1, f2 = (src / 'clean' / 'scene_000' / f'frame_{i:04d}.png'
              for i in (1, 2))
    flo = src / 'flow' / 'scene_000' / 'frame_0001.flo'
    flow, _ = read_flow(str(flo))

    chairs = base / 'chairs'
    (chairs / 'data').mkdir(parents=True)
    for name, img in (('00001_img1.ppm', f1), ('00001_img2.ppm', f2)):
        cv2.imwrite(str(chairs / 'data' / name), cv2.imread(str(img)))
    shutil.copy(flo, chairs / 'data' / '00001_flow.flo')
    (chairs / 'FlyingChairs_train_val.txt').write_text('1\n')

    things = base / 'things'
    for pass_dir in ('frames_cleanpass', 'frames_finalpass'):
        d = things / pass_dir / 'TRAIN' / 'A' / '0000' / 'left'
        d.mkdir(parents=True)
        shutil.copy(f1, d / '0006.png')
        shutil.copy(f2, d / '0007.png')
    d = things / 'optical_flow' / 'TRAIN' / 'A' / '0000'
    (d / 'into_future' / 'left').mkdir(parents=True)
    write_pfm(str(d / 'into_future' / 'left' /
                  'OpticalFlowIntoFuture_0006_L.pfm'), flow)

    tartanair = base / 'tartanair'
    traj = tartanair / 'abandonedfactory' / 'Easy' / 'P000'
    (traj / 'image_left').mkdir(parents=True)
    (traj / 'flow').mkdir()
    shutil.copy(f1, traj / 'image_left' / '000000_left.png')
    shutil.copy(f2, traj / 'image_left' / '000001_left.png')
    np.save(str(traj / 'flow' / '000000_000001_flow.npy'), flow)
    return dict(chairs=chairs, things=things, sintel=sintel,
                tartanair=tartanair)


def tiny_options(roots, max_iters: int):
    """vitb_flow_sintel.py with a 2-block encoder, a 3-block decoder, the
    crop at the generated frames' size, 2 windows of 2x2 tokens in frame 1
    and 3 flow-guided ones in frame 2, 2 checkpoints, 2 tuning pairs."""
    opts = [
        'model.backbone.init_cfg=None', 'model.backbone.arch=None',
        'model.backbone.embed_dims=64', 'model.backbone.num_layers=2',
        'model.backbone.num_heads=2', 'model.backbone.out_indices=[1]',
        'model.decoder.init_cfg=None', 'model.decoder.in_channels=64',
        'model.decoder.embed_dims=48', 'model.decoder.num_layers=3',
        'model.decoder.num_heads=2', 'model.decoder.out_indices=[0,1,2]',
        'model.decode_head.in_channels=[64,48,48,48]',
        'model.decode_head.channels=32',
        'model.decode_head.layer_dims=[16,32,48,64]',
        'model.decode_head.last_dim=16',
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=2',
        'param_scheduler.1.begin=2', 'param_scheduler.1.end=4',
        'custom_hooks.0.num_images=2', 'custom_hooks.0.grid=[1.0,1.2,0.1]',
        'randomness.seed=0',
        'train_dataloader.dataset.datasets.2.dataset.direction=into_future',
        f'custom_hooks.0.dataset.data_root={roots["sintel"]}',
    ]
    # The CroCo-Flow mix: four RepeatDatasets (Sintel clean, Sintel final,
    # Things, Chairs), then TartanAir.
    mix = 'train_dataloader.dataset.datasets'
    for ds, name in ((f'{mix}.0.dataset', 'sintel'),
                     (f'{mix}.1.dataset', 'sintel'),
                     (f'{mix}.2.dataset', 'things'),
                     (f'{mix}.3.dataset', 'chairs'),
                     (f'{mix}.4', 'tartanair')):
        opts += [f'{ds}.data_root={roots[name]}',
                 f'{ds}.pipeline.1.crop_size=[{H},{W}]',
                 f'{ds}.pipeline.2.crop_size=[{H},{W}]',
                 f'{ds}.pipeline.5.window_size=2',
                 f'{ds}.pipeline.5.num_windows2=3',
                 f'{ds}.pipeline.5.window_size2=2']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    opts += [f'{s}_dataloader.dataset.data_root={roots["sintel"]}'
             for s in ('val', 'test')]
    # The config validates on clean + final; the checks below count the
    # clean pass only.
    opts += [f'{s}_dataloader.dataset.pass_style=clean'
             for s in ('val', 'test')]
    return opts


@pytest.mark.slow
def test_flow_train_resume_test(flow_roots, tmp_path):
    work = tmp_path / 'work'
    train = osp.join(ROOT, 'tools', 'train.py')
    # 2 iterations, then resume from the saved checkpoint up to 4.
    log = _run(train, CONFIG, '--work-dir', str(work), '--cfg-options',
               *tiny_options(flow_roots, 2))
    assert re.search(r'Iter\(train\) \[2/2\].*decode\.loss_flow: [\d.]+',
                     log), log[-3000:]
    assert (work / 'iter_2.pth').exists()
    log = _run(train, CONFIG, '--work-dir', str(work), '--resume',
               '--cfg-options', *tiny_options(flow_roots, 4))
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    # Temperature tuning ran on whole training pairs with the EPE.
    assert 'TemperatureTuningHook' in log
    # Validation on Sintel subval at full resolution printed the EPE.
    assert re.search(r'Iter\(val\).*EPE: [\d.]+', log), log[-3000:]
    ckpt_path = work / 'iter_4.pth'
    with mmengine_safe_globals():
        ckpt = torch.load(ckpt_path, weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert any(k.startswith('decoder.') for k in ckpt['state_dict'])

    show, out = tmp_path / 'show', tmp_path / 'out'
    log = _run(osp.join(ROOT, 'tools', 'test.py'), CONFIG, str(ckpt_path),
               '--work-dir', str(tmp_path / 'test'), '--show-dir', str(show),
               '--out', str(out), '--cfg-options',
               *tiny_options(flow_roots, 4))
    m = re.search(r'Iter\(test\).*EPE: ([\d.]+)', log)
    assert m is not None, log[-3000:]
    epe = float(m.group(1))
    assert 0.0 < epe < 1e3
    # subval = temple_2 + temple_3, 2 pairs each: one picture (4 panels at
    # full resolution) and one .flo per pair.
    pictures = sorted(show.rglob('*.png'))
    assert len(pictures) == 4
    assert mmcv.imread(str(pictures[0])).shape[:2] == (H, W * 4)
    flos = sorted(out.rglob('*.flo'))
    assert len(flos) == 4
    pred, valid = read_flow(str(flos[0]))
    assert pred.shape == (H, W, 2) and valid.all()
    assert np.isfinite(pred).all()
