"""WinWinFlowEstimator: CroCo-Flow parity through the converter, cross-
attention positions, windows of both frames, loss, tiling, odd sizes, API."""
import argparse
import math
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401
from winwin_mm.apis.flow import inference_flow
from winwin_mm.models.losses import LaplacianFlowLoss
from winwin_mm.models.segmentors.flow_tiling import (confidence_weights,
                                                     tile_boxes, tile_offsets,
                                                     tiled_flow)
from winwin_mm.structures import TokenLayout

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURE = HERE / 'data' / 'croco_flow_parity.pt'
init_default_scope('mmseg')


def _tiny_cfg(enc=(64, 3, 2), dec=(48, 3, 2), **kwargs) -> dict:
    """The fixture's architecture: encoder 64/3/2, decoder 48/3/2, DPT hooks
    [2, 3, 4, 5] = last encoder block + the three decoder blocks."""
    cfg = dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor'),
        backbone=dict(type='RoPEVisionTransformer', arch=None,
                      embed_dims=enc[0], num_layers=enc[1], num_heads=enc[2],
                      out_indices=(enc[1] - 1, )),
        decoder=dict(type='RoPECrossDecoder', in_channels=enc[0],
                     embed_dims=dec[0], num_layers=dec[1], num_heads=dec[2],
                     out_indices=(0, 1, 2)),
        decode_head=dict(type='WinDPTHead',
                         in_channels=[enc[0], dec[0], dec[0], dec[0]],
                         channels=32, layer_dims=(16, 32, 48, 64),
                         last_dim=16, num_classes=3, out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss')))
    cfg.update(kwargs)
    return cfg


def _model(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(_tiny_cfg(**kwargs))
    model.init_weights()
    return model


# ------------------------------------------------------------------ parity
@pytest.mark.slow
def test_converted_crocoflow_matches_the_fixture(tmp_path):
    fx = torch.load(FIXTURE, weights_only=True)
    src, dst = tmp_path / 'crocoflow.pth', tmp_path / 'converted.pth'
    croco_args = dict(enc_embed_dim=64, enc_depth=3, enc_num_heads=2,
                      dec_embed_dim=48, dec_depth=3, dec_num_heads=2)
    torch.save(dict(model=fx['state_dict'],
                    args=argparse.Namespace(croco_args=croco_args,
                                            crop=(64, 96))), src)
    proc = subprocess.run([sys.executable, 'tools/convert_croco.py', str(src),
                           str(dst)], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    converted = torch.load(dst, weights_only=True)
    state = converted['state_dict']
    assert {k.split('.')[0] for k in state} == {'backbone', 'decoder',
                                                'decode_head'}
    assert converted['meta']['dpt_hooks'] == [2, 3, 4, 5]

    model = _model().eval()
    model.load_state_dict(state, strict=True)
    pair = torch.cat([fx['image1'], fx['image2']], 1)  # 1, 6, 64, 96
    with torch.no_grad():
        out = model(pair, mode='tensor')
    assert out.shape == (1, 3, 64, 96)
    torch.testing.assert_close(out, fx['output'], atol=1e-4, rtol=0)


@pytest.mark.slow
def test_pretrained_decoder_loads_through_init_cfg(tmp_path):
    """A CroCo v2 conversion's decoder_state_dict initialises the decoder."""
    fx = torch.load(FIXTURE, weights_only=True)
    sd = {k: v for k, v in fx['state_dict'].items()
          if not k.startswith('head.')}
    src, dst = tmp_path / 'crocov2.pth', tmp_path / 'v2.pth'
    torch.save(dict(model=sd, croco_kwargs=dict(enc_num_heads=2)), src)
    proc = subprocess.run([sys.executable, 'tools/convert_croco.py', str(src),
                           str(dst)], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    decoder = MODELS.build(dict(
        type='RoPECrossDecoder', in_channels=64, embed_dims=48, num_layers=3,
        num_heads=2, init_cfg=dict(type='Pretrained', checkpoint=str(dst))))
    decoder.init_weights()
    torch.testing.assert_close(decoder.blocks[2].cross_attn.projk.weight,
                               sd['dec_blocks.2.cross_attn.projk.weight'])
    torch.testing.assert_close(decoder.norm.bias, sd['dec_norm.bias'])


# ------------------------------------------------------- cross-attention
def test_cross_attention_uses_the_other_frames_positions():
    torch.manual_seed(0)
    decoder = MODELS.build(dict(type='RoPECrossDecoder', in_channels=32,
                                embed_dims=32, num_layers=2, num_heads=2))
    decoder.init_weights()
    decoder.eval()
    x1, x2 = torch.randn(1, 6, 32), torch.randn(1, 8, 32)
    pos1 = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(3),
                                      indexing='ij'), -1).reshape(1, 6, 2)
    pos2 = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(4),
                                      indexing='ij'), -1).reshape(1, 8, 2)

    def run(p1, p2):
        with torch.no_grad():
            return decoder(x1, x2, TokenLayout(p1, None, [[(2, 3)]]),
                           TokenLayout(p2, None, [[(2, 4)]]))[0]

    ref = run(pos1, pos2)
    shift = torch.tensor([3, 5])
    assert not torch.allclose(run(pos1, pos2 + shift), ref, atol=1e-4)
    torch.testing.assert_close(run(pos1 + shift, pos2 + shift), ref,
                               atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- windows
def _boxes(*rows):
    return torch.tensor(rows, dtype=torch.long)


def test_every_window_equals_a_run_on_its_own_tokens():
    """Batch of two pairs, N != M, unequal sizes and counts: padding and
    masks change nothing; each frame-1 window's head output equals a run on
    exactly that pair's visible tokens."""
    model = _model().eval()
    torch.manual_seed(1)
    pairs = torch.randn(2, 6, 96, 128)
    w1 = [_boxes([0, 0, 32, 32], [64, 48, 128, 80]),  # 2x2 and 2x4 tokens
          _boxes([16, 16, 64, 48])]  # 2x3
    w2 = [_boxes([0, 32, 48, 80]),  # 3x3
          _boxes([0, 0, 32, 16], [48, 48, 96, 96], [96, 0, 128, 32])]
    with torch.no_grad():
        maps = model.extract_feat(pairs, w1, w2)
        batched = model.decode_head(maps)  # 3 windows, 3, 32, 64
        row = 0
        for b in range(2):
            feats = model.extract_feat(pairs[b:b + 1], [w1[b]], [w2[b]])
            alone = model.decode_head(feats)
            for k, (x1, y1, x2, y2) in enumerate(w1[b].tolist()):
                h, w = y2 - y1, x2 - x1
                torch.testing.assert_close(batched[row, :, :h, :w],
                                           alone[k, :, :h, :w], atol=2e-5,
                                           rtol=1e-4)
                row += 1
        # frame-2 tokens matter: other frame-2 windows, other decoder maps
        mine = model.extract_feat(pairs[:1], [w1[0]], [w2[0]])[-1]
        other = model.extract_feat(pairs[:1], [w1[0]],
                                   [_boxes([64, 0, 112, 48])])[-1]
        assert not torch.allclose(other, mine, atol=1e-3)


def _flow_sample(H, W, w1, w2, seed=0):
    g = torch.Generator().manual_seed(seed)
    flow = torch.randn(2, H, W, generator=g) * 3
    flow[:, :4, :4] = float('nan')  # unknown ground truth
    sample = SegDataSample(metainfo=dict(
        windows=w1.numpy(), windows2=w2.numpy(), img_shape=(H, W),
        ori_shape=(H, W)))
    sample.gt_flow = PixelData(data=flow)
    sample.gt_flow_valid = PixelData(data=torch.ones(1, H, W, dtype=torch.bool))
    return sample


def test_window_training_loss_reaches_every_parameter():
    model = _model()
    model.train()
    inputs = torch.randint(0, 255, (2, 6, 96, 128), dtype=torch.uint8)
    samples = [_flow_sample(96, 128, _boxes([0, 0, 32, 48], [64, 48, 112, 96]),
                            _boxes([32, 0, 80, 48]), 0),
               _flow_sample(96, 128, _boxes([16, 16, 64, 64]),
                            _boxes([0, 0, 32, 32], [64, 64, 96, 96]), 1)]
    data = model.data_preprocessor(dict(inputs=list(inputs),
                                        data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_flow', 'decode.epe'}
    assert torch.isfinite(losses['decode.loss_flow'])
    losses['decode.loss_flow'].backward()
    no_grad = [n for n, p in model.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert no_grad == []


def test_flow_scale_multiplies_uv_in_training_and_test():
    """``flow_scale`` scales (u, v), not the confidence, in the loss (whose
    EPE is then against the scaled prediction) and in both test modes."""
    inputs = torch.randint(0, 255, (1, 6, 64, 96), dtype=torch.uint8)
    plain, scaled = _model(), _model(flow_scale=20.)
    scaled.load_state_dict(plain.state_dict())
    x = plain.data_preprocessor(dict(inputs=list(inputs)), False)['inputs']
    a = plain.encode_decode(x)
    b = scaled.encode_decode(x)
    torch.testing.assert_close(b[:, :2], a[:, :2] * 20.)
    torch.testing.assert_close(b[:, 2], a[:, 2])
    for m in (plain, scaled):
        m.test_cfg = dict(mode='tile', crop_size=(32, 48), overlap=0.5)
    torch.testing.assert_close(scaled.inference(x)[:, :2],
                               plain.inference(x)[:, :2] * 20.)
    s = _flow_sample(64, 96, _boxes([0, 0, 32, 32]), _boxes([32, 16, 64, 48]))
    s.gt_flow.data = torch.zeros(2, 64, 96)  # EPE = |prediction|
    data = plain.data_preprocessor(dict(inputs=list(inputs),
                                        data_samples=[s]), True)
    plain.train(), scaled.train()
    epe_a = plain(**data, mode='loss')['decode.epe']
    epe_b = scaled(**data, mode='loss')['decode.epe']
    torch.testing.assert_close(epe_b, epe_a * 20.)
    with pytest.raises(ValueError, match='flow_scale'):
        MODELS.build(_tiny_cfg(flow_scale=0.))


def test_whole_image_training_refuses_windows():
    model = _model(train_cfg=dict(whole_image=True))
    inputs = torch.randint(0, 255, (1, 6, 64, 64), dtype=torch.uint8)
    sample = _flow_sample(64, 64, _boxes([0, 0, 32, 32]),
                          _boxes([0, 0, 32, 32]))
    data = model.data_preprocessor(dict(inputs=list(inputs),
                                        data_samples=[sample]), True)
    with pytest.raises(ValueError, match='whole_image'):
        model(**data, mode='loss')
    plain = SegDataSample(metainfo=dict(img_shape=(64, 64)))
    plain.gt_flow = sample.gt_flow
    plain.gt_flow_valid = sample.gt_flow_valid
    losses = model(**model.data_preprocessor(
        dict(inputs=list(inputs), data_samples=[plain]), True), mode='loss')
    assert torch.isfinite(losses['decode.loss_flow'])


# ------------------------------------------------------------------- loss
def test_laplacian_loss_by_hand():
    pred = torch.tensor([[[[1., 2.]], [[0., -1.]], [[0., 3.]]]])  # 1,3,1,2
    gt = torch.tensor([[[[2., 2.]], [[1., 0.]]]])  # 1, 2, 1, 2
    loss = LaplacianFlowLoss()(pred, gt)
    s = [3.75 * (1 / (1 + math.exp(-c))) + 0.25 for c in (0., 3.)]
    errs = [abs(1 - 2) + abs(0 - 1), abs(2 - 2) + abs(-1 - 0)]
    ref = sum(e / si + math.log(si) for e, si in zip(errs, s)) / 2
    assert loss.item() == pytest.approx(ref, rel=1e-6)
    # invalid pixels are ignored: NaN, outside the mask, ||gt|| >= 1e4
    for bad in ('nan', 'mask', 'huge'):
        g, valid = gt.clone(), torch.ones(1, 1, 1, 2)
        if bad == 'nan':
            g[0, 0, 0, 1] = float('nan')
        elif bad == 'mask':
            valid[0, 0, 0, 1] = 0
        else:
            g[0, :, 0, 1] = 1e4
        one = LaplacianFlowLoss()(pred, g, valid)
        assert one.item() == pytest.approx(errs[0] / s[0] + math.log(s[0]),
                                           rel=1e-6), bad


# ----------------------------------------------------------------- tiling
def test_tile_layout_and_weights_by_hand():
    # n = 1 + ceil((100 - 40) / (0.5 * 40)) = 4 tiles at 0, 20, 40, 60
    assert tile_offsets(100, 40, 0.5) == [0, 20, 40, 60]
    assert tile_offsets(30, 40, 0.9) == [0]
    # Spring at overlap 0.9, CroCo's crop: 25 rows x 42 columns (in floats
    # (1 - 0.9) * 384 is just under 38.4, so the columns round up to 42, as
    # in CroCo's tiled_pred: about 1,050 passes).
    assert len(tile_boxes(1080, 1920, (320, 384), 0.9)) == 25 * 42
    c = torch.tensor([-5., 0., 5.])
    w = confidence_weights(c)
    ref = [math.exp(-20 * (1 / (1 + math.exp(-v / 5)) - 0.5)) for v in
           (-5., 0., 5.)]
    torch.testing.assert_close(w, torch.tensor(ref))
    # merge of two tiles over one pixel: sum w p / sum w
    pairs = torch.zeros(1, 6, 1, 3)
    outs = iter([torch.tensor([[[[1., 1.]], [[0., 0.]], [[0., 0.]]]]),
                 torch.tensor([[[[3., 3.]], [[0., 0.]], [[5., 5.]]]])])
    merged, passes = tiled_flow(lambda t: next(outs), pairs, (1, 2), 0.5,
                                tiles_per_batch=1)
    assert passes == 2
    w0, w1 = confidence_weights(torch.tensor(0.)), confidence_weights(
        torch.tensor(5.))
    assert merged[0, 0, 0, 0].item() == pytest.approx(1.)
    assert merged[0, 0, 0, 1].item() == pytest.approx(
        float((w0 * 1 + w1 * 3) / (w0 + w1)), rel=1e-6)
    assert merged[0, 0, 0, 2].item() == pytest.approx(3.)


def test_tiling_of_a_position_function_equals_the_whole_field():
    H, W = 70, 100
    ys, xs = torch.meshgrid(torch.arange(float(H)),
                            torch.arange(float(W)), indexing='ij')
    pairs = torch.zeros(1, 6, H, W)
    pairs[0, 0], pairs[0, 1] = xs, ys
    pairs[0, 2] = torch.sin(xs / 7) * 4  # varying confidence

    def predict(t):  # u = 0.1 x + y, v = x - y, c from the pixel
        return torch.stack([0.1 * t[:, 0] + t[:, 1], t[:, 0] - t[:, 1],
                            t[:, 2]], 1)

    whole = predict(pairs)
    tiled, passes = tiled_flow(predict, pairs, (32, 48), 0.7)
    assert passes == len(tile_boxes(H, W, (32, 48), 0.7)) > 4
    torch.testing.assert_close(tiled[:, :2], whole[:, :2], atol=1e-4,
                               rtol=1e-5)


def test_tile_mode_predicts_with_the_model():
    model = _model(test_cfg=dict(mode='tile', crop_size=(32, 48),
                                 overlap=0.5)).eval()
    inputs = torch.randint(0, 255, (1, 6, 64, 80), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(64, 80),
                                         ori_shape=(64, 80)))
    out = model.test_step(dict(inputs=list(inputs), data_samples=[sample]))
    assert out[0].pred_flow.shape == (64, 80)
    assert out[0].pred_flow_conf.data.shape == (1, 64, 80)
    model.test_cfg = dict(mode='tile')
    with pytest.raises(ValueError, match='crop_size'):
        model.test_step(dict(inputs=list(inputs), data_samples=[sample]))


# -------------------------------------------------------------- odd sizes
@pytest.mark.slow
def test_full_hd_pair_runs_in_one_pass_and_is_cropped_back():
    model = _model(enc=(32, 1, 2), dec=(16, 3, 2)).eval()
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    pair = torch.randint(0, 255, (6, 1080, 1920), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(1080, 1920),
                                         ori_shape=(1080, 1920)))
    with torch.no_grad():
        # 67.5 token rows: the preprocessor pads to 1088, the model crops.
        out = model.test_step(dict(inputs=[pair], data_samples=[sample]))
    assert out[0].metainfo['padding_size'] == [0, 0, 0, 8]
    assert out[0].pred_flow.data.shape == (2, 1080, 1920)
    assert torch.isfinite(out[0].pred_flow.data).all()
    tokens, layout = model.backbone.forward_tokens(
        torch.randn(1, 3, 1080, 1920))
    assert layout.sizes[0][0] == (68, 120)
    with pytest.raises(ValueError, match='1080x1920 pixels is not a multiple'):
        model(torch.randn(1, 6, 1080, 1920), mode='tensor')


def test_inference_flow_api_on_an_odd_size(tmp_path):
    model = _model()
    rng = np.random.default_rng(0)
    img1 = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
    path = str(tmp_path / 'b.png')
    import mmcv
    mmcv.imwrite(img1[:, ::-1].copy(), path)
    flow, conf = inference_flow(model, img1, path)
    assert flow.shape == (50, 70, 2) and flow.dtype == np.float32
    assert conf.shape == (50, 70) and conf.dtype == np.float32
    with torch.no_grad():
        pair = torch.from_numpy(np.concatenate(
            [img1, mmcv.imread(path)], 2).transpose(2, 0, 1).copy())
        data = model.data_preprocessor(dict(inputs=[pair]), False)
        raw = model(data['inputs'], mode='tensor')[0, :, :50, :70]
    np.testing.assert_allclose(flow, raw[:2].permute(1, 2, 0).numpy(),
                               atol=1e-5)
    with pytest.raises(ValueError, match='differ in size'):
        inference_flow(model, img1, img1[:40])


def test_flow_model_rejects_incompatible_parts():
    with pytest.raises(ValueError, match='last block'):
        MODELS.build(_tiny_cfg(backbone=dict(
            type='RoPEVisionTransformer', arch=None, embed_dims=64,
            num_layers=3, num_heads=2, out_indices=(1, ))))
    cfg = _tiny_cfg()
    cfg['decode_head'].pop('loss_decode')
    with pytest.raises(ValueError, match='LaplacianFlowLoss'):
        MODELS.build(cfg)


def test_flow_base_config_builds():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models',
                                   'winwin_crocoflow_vit-b16.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert len(model.temperature_modules()) == 12 + 2 * 12
