"""WinWinSegInferencer / WinWinFlowInferencer on tiny random-weight demo
models: odd sizes come back at their own size, files are written, folders
and pairs are read, bf16 runs, unreadable files are named."""
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest

from winwin_mm.apis import (WinWinFlowInferencer, WinWinSegInferencer,
                            init_model)

SEG = 'configs/winwin/winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py'
DEPTH = ('configs/winwin/winwin-depth_vit-t16-rope_1xb4-1200_'
         'synthetic-rooms-320x240.py')
FLOW = 'configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py'


def _img(h, w, seed=0):
    return np.random.RandomState(seed).randint(0, 255, (h, w, 3), np.uint8)


@pytest.fixture(scope='module')
def seg():
    return WinWinSegInferencer(init_model(SEG), show_progress=False)


@pytest.fixture(scope='module')
def flow():
    return WinWinFlowInferencer(init_model(FLOW), show_progress=False)


def test_seg_odd_size_folder_and_files(seg, tmp_path):
    for i, (h, w) in enumerate([(37, 53), (40, 29)]):
        mmcv.imwrite(_img(h, w, i), str(tmp_path / 'in' / f'im{i}.png'))
    out = seg(str(tmp_path / 'in'), out_dir=str(tmp_path / 'out'),
              batch_size=2)
    shapes = [p.shape for p in out['predictions']]
    assert shapes == [(37, 53), (40, 29)]
    assert osp.isfile(tmp_path / 'out' / 'pred' / 'im0.png')
    vis = mmcv.imread(str(tmp_path / 'out' / 'vis' / 'im1.png'))
    assert vis.shape == (40, 29, 3)
    label = mmcv.imread(str(tmp_path / 'out' / 'pred' / 'im0.png'),
                        flag='unchanged')
    np.testing.assert_array_equal(label, out['predictions'][0])


@pytest.mark.slow
def test_seg_bf16_close_to_fp32(seg):
    img = _img(33, 47)
    a = seg(img, return_datasamples=True)['predictions'][0]
    b = seg(img, bf16=True, return_datasamples=True)['predictions'][0]
    la, lb = a.seg_logits.data.float(), b.seg_logits.data.float()
    assert la.shape == lb.shape == (la.shape[0], 33, 47)
    assert (la - lb).abs().max() < 0.25 * la.abs().max() + 1e-3


def test_seg_missing_file_named(seg):
    with pytest.raises(FileNotFoundError, match='nope.png'):
        seg('nope.png')


@pytest.mark.slow
def test_depth_npy(tmp_path):
    inf = WinWinSegInferencer(init_model(DEPTH), show_progress=False)
    out = inf(_img(35, 45), out_dir=str(tmp_path), pred_format='npy')
    depth = np.load(tmp_path / 'pred' / '00000000.npy')
    assert depth.shape == (35, 45) and depth.dtype == np.float32
    np.testing.assert_array_equal(depth, out['predictions'][0])
    assert mmcv.imread(str(tmp_path / 'vis' / '00000000.png')).shape == (
        35, 90, 3)


@pytest.mark.slow
def test_flow_pair_and_folder(flow, tmp_path):
    frames = [_img(37, 53, i) for i in range(3)]
    for i, f in enumerate(frames):
        mmcv.imwrite(f, str(tmp_path / 'in' / f'f{i}.png'))
    out = flow(str(tmp_path / 'in'), out_dir=str(tmp_path / 'out'))
    assert [f.shape for f in out['predictions']] == [(37, 53, 2)] * 2
    read = mmcv.flowread(str(tmp_path / 'out' / 'flow' / 'f1.flo'))
    np.testing.assert_allclose(read, out['predictions'][1])
    assert mmcv.imread(str(tmp_path / 'out' / 'vis' / 'f0.png')).shape == (
        37, 106, 3)
    one = flow((frames[0], frames[1]))['predictions']
    assert len(one) == 1
    np.testing.assert_allclose(one[0], out['predictions'][0], atol=1e-4)


@pytest.mark.slow
def test_flow_video_frame_count(flow, tmp_path):
    src = str(tmp_path / 'in.avi')
    w = cv2.VideoWriter(src, cv2.VideoWriter_fourcc(*'MJPG'), 5, (53, 37))
    for i in range(4):
        w.write(_img(37, 53, i))
    w.release()
    out = str(tmp_path / 'out.avi')
    assert flow.video(src, out) == 3
    src_r, r = mmcv.VideoReader(src), mmcv.VideoReader(out)
    h, w = src_r.height, src_r.width  # the codec may round 37x53 down
    assert r.frame_cnt == 3
    assert (r.height, r.width) == (h + h % 2, 2 * w + (2 * w) % 2)


def test_memory_error_names_size(seg):
    from winwin_mm.apis.inferencers import (InferenceMemoryError,
                                            estimate_bytes)
    need = estimate_bytes(seg.model, 1080, 1920)
    assert estimate_bytes(seg.model, 1080, 1920, bf16=True) == need // 2
    assert estimate_bytes(seg.model, 2160, 3840) > 10 * need  # ~N^2
    seg.memory_limit = 1000  # a tiny fake device
    try:
        with pytest.raises(InferenceMemoryError, match=r'33x47.*bf16=True'):
            seg(_img(33, 47))
    finally:
        seg.memory_limit = None
    assert seg(_img(33, 47))['predictions'][0].shape == (33, 47)


@pytest.mark.slow
def test_image_demo_cli(seg, tmp_path):
    import subprocess
    import sys

    import torch
    ckpt = str(tmp_path / 'w.pth')
    torch.save(dict(state_dict=seg.model.state_dict(), meta={}), ckpt)
    mmcv.imwrite(_img(37, 53), str(tmp_path / 'a.png'))
    subprocess.run([sys.executable, 'demo/image_demo.py',
                    str(tmp_path / 'a.png'), SEG, ckpt, '--out-dir',
                    str(tmp_path / 'out')], check=True, capture_output=True)
    label = mmcv.imread(str(tmp_path / 'out' / 'pred' / 'a.png'),
                        flag='unchanged')
    assert label.shape == (37, 53)
    np.testing.assert_array_equal(
        label, seg(str(tmp_path / 'a.png'))['predictions'][0])
