"""Flow evaluation at frame sizes that are not multiples of the patch size:
the data preprocessor pads the inputs (only they), the model crops its
prediction back, and FlowMetric's EPE equals a hand computation on the
frame's own pixels, in one pass and with tiling."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.datasets.transforms import PackFlowInputs
from winwin_mm.evaluation import FlowMetric
from winwin_mm.models.segmentors.flow_tiling import tiled_flow

MEAN = np.array([123.675, 116.28, 103.53], np.float32)  # RGB
STD = np.array([58.395, 57.12, 57.375], np.float32)
TILE = dict(mode='tile', crop_size=(32, 48), overlap=0.5)


def _model(test_cfg):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=16),
        # DPT reads 4 maps: encoder blocks 0-1, then decoder blocks 0-1.
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, out_indices=(0, 1)),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=32,
                     num_layers=2, num_heads=2, out_indices=(0, 1)),
        decode_head=dict(type='WinDPTHead', in_channels=[32] * 4,
                         channels=16, layer_dims=(8, 16, 16, 32),
                         last_dim=8, num_classes=3, out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss')),
        test_cfg=test_cfg))
    model.init_weights()
    return model.eval()


def _frames(seed=0, H=64, W=96):
    """Two textured BGR frames, a ground truth with about 30 % unknown
    pixels (sparse, as KITTI)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (H // 4, W // 4, 6)).astype(np.float32)
    frames = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    frames = np.clip(frames + rng.normal(0, 8, frames.shape), 0, 255)
    frames = frames.astype(np.uint8)
    gt = rng.uniform(-6, 6, (H, W, 2)).astype(np.float32)
    valid = rng.random((H, W)) > 0.3
    return frames[..., :3], frames[..., 3:], gt, valid


def _resize_case(img1, img2, gt, valid, case):
    """The same content padded with a replicated border to 70x100, or
    cropped to 60x90."""
    if case == 'crop60x90':
        return img1[:60, :90], img2[:60, :90], gt[:60, :90], valid[:60, :90]
    pad = dict(top=0, bottom=70 - img1.shape[0], left=0,
               right=100 - img1.shape[1], borderType=cv2.BORDER_REPLICATE)
    out = [cv2.copyMakeBorder(a, **pad) for a in (img1, img2, gt)]
    v = cv2.copyMakeBorder(valid.astype(np.uint8), **pad).astype(bool)
    return out[0], out[1], out[2], v


def _evaluate(model, img1, img2, gt, valid):
    """The test pipeline's last step, the model's test_step and FlowMetric,
    as tools/test.py runs them."""
    H, W = img1.shape[:2]
    packed = PackFlowInputs()(dict(
        img=img1, img2=img2, gt_flow=gt, gt_flow_valid=valid,
        img_path='scene/frame_0001.png', img_shape=(H, W), ori_shape=(H, W),
        gt_flow_scale=1))
    data = pseudo_collate([packed])
    with torch.no_grad():
        outputs = model.test_step(data)
    metric = FlowMetric()
    metric.process(data, [o.to_dict() for o in outputs])
    return outputs[0], metric.compute_metrics(metric.results)


def _hand_epe(model, img1, img2, gt, valid, tile=None):
    """Normalise and zero-pad by hand, run the head, crop, average the EPE
    over the valid pixels in numpy."""
    H, W = img1.shape[:2]
    pair = np.concatenate([(img1[..., ::-1] - MEAN) / STD,
                           (img2[..., ::-1] - MEAN) / STD], axis=2)
    x = torch.from_numpy(pair.transpose(2, 0, 1).astype(np.float32))[None]
    x = F.pad(x, (0, -W % 16, 0, -H % 16))  # 1, 6, H_pad, W_pad
    with torch.no_grad():
        if tile is None:
            out = model.encode_decode(x)
        else:
            # CroCo-Flow tiles the frame itself, never the padding.
            out, _ = tiled_flow(model.encode_decode, x[..., :H, :W],
                                tile['crop_size'], tile['overlap'])
    pred = out[0, :2, :H, :W].permute(1, 2, 0).numpy()  # H, W, 2
    epe = np.sqrt(((pred - gt)**2).sum(-1))
    return pred, float(epe[valid].mean())


@pytest.mark.parametrize('test_cfg', [dict(mode='whole'), TILE],
                         ids=['whole', 'tile'])
@pytest.mark.parametrize('case', ['pad70x100', 'crop60x90', 'as_is64x96'])
def test_epe_at_any_frame_size_equals_a_hand_computation(test_cfg, case):
    model = _model(test_cfg)
    img1, img2, gt, valid = _frames()
    if case != 'as_is64x96':
        img1, img2, gt, valid = _resize_case(img1, img2, gt, valid, case)
    H, W = img1.shape[:2]
    sample, metrics = _evaluate(model, img1, img2, gt, valid)
    tile = test_cfg if test_cfg['mode'] == 'tile' else None
    pred, epe = _hand_epe(model, img1, img2, gt, valid, tile)
    # Ground truth and validity keep the frame's size; so does the
    # prediction (the padding is cropped exactly).
    assert sample.gt_flow.data.shape == (2, H, W)
    assert sample.gt_flow_valid.data.shape == (1, H, W)
    assert sample.pred_flow.data.shape == (2, H, W)
    assert sample.padding_size == [0, -W % 16, 0, -H % 16]
    np.testing.assert_allclose(
        sample.pred_flow.data.permute(1, 2, 0).numpy(), pred, atol=1e-5)
    assert metrics['EPE'] == pytest.approx(epe, rel=1e-5)


def test_training_loss_at_an_odd_size_ignores_the_padding():
    """Whole-frame training (the full-resolution baseline, the temperature
    tuning) on a 70x100 pair: the ground truth is not padded by the
    preprocessor; the window crop pads it as unknown, so the loss is that of
    the frame's pixels only."""
    model = _model(dict(mode='whole'))
    model.train_cfg = dict(whole_image=True)
    img1, img2, gt, valid = _resize_case(*_frames(), 'pad70x100')
    packed = PackFlowInputs()(dict(
        img=img1, img2=img2, gt_flow=gt, gt_flow_valid=valid,
        img_shape=(70, 100), ori_shape=(70, 100)))
    data = model.data_preprocessor(pseudo_collate([packed]), True)
    assert data['inputs'].shape == (1, 6, 80, 112)
    assert data['data_samples'][0].gt_flow.data.shape == (2, 70, 100)
    losses = model.loss(data['inputs'], data['data_samples'])
    _, epe = _hand_epe(model.eval(), img1, img2, gt, valid)
    assert losses['decode.epe'].item() == pytest.approx(epe, rel=1e-4)


def test_tile_crop_must_be_a_multiple_of_the_patch_size():
    model = _model(dict(mode='tile', crop_size=(30, 48)))
    img1, img2, gt, valid = _frames()
    with pytest.raises(ValueError, match=r'multiples of the patch size 16'):
        _evaluate(model, img1, img2, gt, valid)
