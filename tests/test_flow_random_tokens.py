"""Uniform random tokens for flow (paper Table 8): FlowGuidedWindows with
one-token windows, ground truth gathered at those tokens, a per-token linear
head, and the paper-scale config."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.datasets.transforms.flow_guided_windows import top_tokens

P = 8
GH, GW = 6, 10  # tokens
H, W = GH * P, GW * P
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _transform(n1=12, n2=12, stochasticity=0.5, **kwargs):
    return TRANSFORMS.build(dict(
        type='FlowGuidedWindows', patch_size=P, num_windows=n1,
        window_size=1, num_windows2=n2, window_size2=1,
        stochasticity=stochasticity, **kwargs))


def _results(flow=(0., 0.)):
    gt = np.empty((H, W, 2), np.float32)
    gt[...] = flow
    img = np.zeros((H, W, 3), np.uint8)
    return dict(img=img, img2=img.copy(), gt_flow=gt, img_shape=(H, W))


def _tokens(boxes):
    return {(x1 // P, y1 // P) for x1, y1, _, _ in boxes.tolist()}


def test_random_tokens_count_and_geometry():
    np.random.seed(0)
    out = _transform(n1=15, n2=9)(_results((5., -3.)))
    for key, n in (('windows', 15), ('windows2', 9)):
        boxes = out[key]
        assert boxes.dtype == np.int64 and boxes.shape == (n, 4)
        assert ((boxes[:, 2:] - boxes[:, :2]) == P).all()  # one token each
        assert (boxes % P == 0).all()
        assert (boxes[:, :2] >= 0).all()
        assert (boxes[:, 2] <= W).all() and (boxes[:, 3] <= H).all()
        assert len(_tokens(boxes)) == n  # distinct tokens


def test_frame1_tokens_are_uniform():
    """Every token of the grid is drawn about equally often."""
    np.random.seed(1)
    t = _transform(n1=6, n2=6, mode='random')
    hits = np.zeros((GH, GW))
    for _ in range(300):
        for x, y in _tokens(t(_results())['windows']):
            hits[y, x] += 1
    # 300 draws x 6 tokens / 60 tokens = 30 expected per token.
    assert hits.min() > 10 and hits.max() < 55


def test_frame2_tokens_follow_the_flow():
    """No noise, a constant flow of (2, 1) tokens: frame 2 keeps exactly
    the frame-1 tokens moved by the flow (those still in view)."""
    np.random.seed(2)
    out = _transform(n1=8, n2=8, stochasticity=0.)(
        _results((2. * P, 1. * P)))
    moved = {(x + 2, y + 1) for x, y in _tokens(out['windows'])
             if x + 2 < GW and y + 1 < GH}
    assert moved <= _tokens(out['windows2'])


def test_ties_are_broken_at_random_not_top_left():
    score = np.zeros((GH, GW))
    score[3, 4] = 5.
    np.random.seed(3)
    first = top_tokens(score, 4)
    assert tuple(first[0]) == (4, 3, 5, 4)  # the voted token first
    picks = {tuple(map(tuple, top_tokens(score, 4)[1:]))
             for _ in range(10)}
    assert len(picks) > 1  # the rest: random, not row-major
    with pytest.raises(ValueError, match='distinct tokens'):
        top_tokens(score, GH * GW + 1)


def _model():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=P),
        backbone=dict(type='RoPEVisionTransformer', arch=None, patch_size=P,
                      embed_dims=32, num_layers=2, num_heads=2,
                      out_indices=(1, )),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=32,
                     num_layers=2, num_heads=2, out_indices=(0, 1)),
        decode_head=dict(type='TokenLinearHead', in_channels=32,
                         in_index=-1, upsample_factor=P, num_classes=3,
                         out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss'))))
    model.init_weights()
    return model


def _sample(flow, out):
    sample = SegDataSample(metainfo=dict(
        img_shape=(H, W), ori_shape=(H, W), windows=out['windows'],
        windows2=out['windows2']))
    sample.gt_flow = PixelData(data=torch.from_numpy(flow).permute(2, 0, 1))
    return sample


def test_flow_targets_are_gathered_at_the_token_pixels():
    model = _model()
    np.random.seed(4)
    # Every pixel's flow is distinct: u = x, v = 1000 + y.
    ys, xs = np.mgrid[:H, :W].astype(np.float32)
    flow = np.stack([xs, 1000 + ys], axis=-1)
    res = _results()
    res['gt_flow'] = flow
    out = _transform(n1=7, n2=7)(res)
    sample = _sample(flow, out)
    windows, from_samples = model._batch_windows(torch.zeros(1, 6, H, W),
                                                 [sample])
    assert from_samples
    crops = model.crop_data_samples([sample], windows)
    assert len(crops) == 7
    for crop, (x1, y1, x2, y2) in zip(crops, out['windows'].tolist()):
        gt = crop.gt_flow.data  # 2, P, P
        assert gt.shape == (2, P, P)
        torch.testing.assert_close(
            gt, torch.from_numpy(flow[y1:y2, x1:x2]).permute(2, 0, 1))


@pytest.mark.slow
def test_random_token_training_and_whole_frame_test():
    model = _model()
    np.random.seed(5)
    flow = np.random.default_rng(0).normal(0, 3, (H, W, 2)).astype(
        np.float32)
    res = _results()
    res['gt_flow'] = flow
    out = _transform(n1=10, n2=10)(res)
    inputs = [torch.randint(0, 255, (6, H, W), dtype=torch.uint8)]
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=[_sample(flow, out)]), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_flow'])
    losses['decode.loss_flow'].backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
    model.eval()
    test = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    with torch.no_grad():
        pred = model(**model.data_preprocessor(
            dict(inputs=inputs, data_samples=[test]), False),
            mode='predict')[0]
    assert pred.pred_flow.data.shape == (2, H, W)


@pytest.mark.slow
def test_paper_scale_config_uses_random_tokens_everywhere():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'winwin',
                                   'vitb_flow_sintel_randtokens-200.py'))
    assert cfg.model.decode_head.type == 'TokenLinearHead'
    assert cfg.model.decode_head.in_channels == 768
    for source in cfg.train_dataloader.dataset.datasets:
        pipeline = source.get('dataset', source).pipeline
        win = [t for t in pipeline if t.type == 'FlowGuidedWindows']
        assert len(win) == 1
        assert (win[0].num_windows, win[0].window_size) == (200, 1)
        assert (win[0].num_windows2, win[0].window_size2) == (200, 1)
        assert win[0].stochasticity == 0.5
    # 27x64 tokens at 432x1024: 200 of them fit, in both frames.
    t = TRANSFORMS.build(cfg.windows)
    img = np.zeros((432, 1024, 3), np.uint8)
    np.random.seed(6)
    out = t(dict(img=img, img2=img.copy(), img_shape=(432, 1024),
                 gt_flow=np.zeros((432, 1024, 2), np.float32)))
    assert out['windows'].shape == out['windows2'].shape == (200, 4)
