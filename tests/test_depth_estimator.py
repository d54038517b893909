"""WinWinDepthEstimator and the depth heads: per-window depth ground truth,
masked SiLog loss, bounded outputs, whole and slide (tiled) inference."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.losses import SiLogLoss
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401
from winwin_mm.models.decode_heads import ConvNeXtDepthHead, WinDPTDepthHead

MAX_DEPTH = 10.


def _model(head: str = 'convnext', train_cfg=None, **test_cfg):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    # The DPT head reads four maps: blocks 1-4 of a 4-block ViT.
    num_layers, out_indices = ((2, [1]) if head == 'convnext' else
                               (4, [0, 1, 2, 3]))
    decode_head = (
        dict(type='ConvNeXtDepthHead', in_channels=32, channels=16,
             num_convs=1) if head == 'convnext' else
        dict(type='WinDPTDepthHead', in_channels=[32] * 4, channels=16,
             layer_dims=[8, 8, 16, 16], last_dim=8))
    model = MODELS.build(dict(
        type='WinWinDepthEstimator',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size_divisor=16,
                               seg_pad_val=0,
                               test_cfg=dict(size_divisor=16)),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=num_layers, num_heads=2, patch_size=16,
                      out_indices=out_indices),
        decode_head=dict(decode_head, max_depth=MAX_DEPTH),
        train_cfg=train_cfg or dict(),
        test_cfg=dict(mode='whole')))
    model.init_weights()
    model.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))
    return model


def _sample(depth, windows=None):
    meta = dict(img_shape=depth.shape[-2:], ori_shape=depth.shape[-2:],
                pad_shape=depth.shape[-2:])
    if windows is not None:
        meta['windows'] = windows
    return SegDataSample(metainfo=meta,
                         gt_depth_map=PixelData(data=depth[None]))


def _depth_ramp(H, W, flip=False):
    """Distinct positive depths: pixel (y, x) -> 0.5 + (y * W + x) / 1000."""
    depth = 0.5 + torch.arange(H * W, dtype=torch.float32).reshape(H, W) / 1e3
    return depth.flip(0) if flip else depth


def test_depth_is_cropped_per_window_and_padded_with_zero():
    model = _model()
    H, W = 48, 64
    depths = [_depth_ramp(H, W), _depth_ramp(H, W, flip=True)]
    wins = [torch.tensor([[0, 0, 16, 16], [32, 16, 64, 48]]),
            torch.tensor([[16, 16, 32, 48]])]
    samples = [_sample(d, w) for d, w in zip(depths, wins)]
    windows, from_samples = model._batch_windows(torch.zeros(2, 3, H, W),
                                                 samples)
    assert from_samples
    out = model.crop_data_samples(samples, windows)
    expect = [depths[0][0:16, 0:16], depths[0][16:48, 32:64],
              depths[1][16:48, 16:32]]
    assert len(out) == 3  # image 0 windows 0 and 1, image 1 window 0
    for sample, ref in zip(out, expect):
        gt = sample.gt_depth_map.data[0]
        assert gt.shape == (32, 32)  # the largest window
        h, w = ref.shape
        assert torch.equal(gt[:h, :w], ref)
        # 0 = invalid depth, not the segmentation ignore index 255.
        assert (gt[h:] == 0).all() and (gt[:, w:] == 0).all()


@pytest.mark.parametrize('head', ['convnext', 'dpt'])
def test_loss_sees_each_window_and_backprops(head):
    model = _model(head)
    H, W = 48, 64
    wins = torch.tensor([[0, 0, 32, 32], [32, 16, 64, 48]])
    samples = [_sample(_depth_ramp(H, W), wins) for _ in range(2)]
    seen = {}
    loss_by_feat = model.decode_head.loss_by_feat

    def spy(pred, batch):
        seen['pred'] = pred.shape
        seen['gt'] = [s.gt_depth_map.data for s in batch]
        return loss_by_feat(pred, batch)

    model.decode_head.loss_by_feat = spy
    losses = model.loss(torch.randn(2, 3, H, W), samples)
    stride = 4 if head == 'convnext' else 1
    assert seen['pred'] == (4, 1, 32 // stride, 32 // stride)
    assert torch.equal(seen['gt'][1][0], _depth_ramp(H, W)[16:48, 32:64])
    loss = losses['decode.loss_silog']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.backbone.patch_embed.proj.weight.grad.abs().sum() > 0
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_padding_and_invalid_pixels_do_not_count():
    """A window padded with zeros has the loss of the window alone."""
    head = _model().decode_head
    gen = torch.Generator().manual_seed(0)
    gt = 1 + 4 * torch.rand(1, 1, 8, 8, generator=gen)
    pred = 1 + 4 * torch.rand(1, 1, 8, 8, generator=gen)
    gt[..., 0, :3] = 0  # sensor holes
    alone = head.loss_by_feat(pred, [SegDataSample(
        gt_depth_map=PixelData(data=gt[0]))])['loss_silog']
    padded_gt = F.pad(gt, (0, 4, 0, 2))  # zeros right / bottom
    padded_pred = torch.cat([pred, 9 * torch.ones(1, 1, 8, 4)], -1)
    padded_pred = torch.cat([padded_pred, 0.1 * torch.ones(1, 1, 2, 12)], -2)
    padded = head.loss_by_feat(padded_pred, [SegDataSample(
        gt_depth_map=PixelData(data=padded_gt[0]))])['loss_silog']
    torch.testing.assert_close(padded, alone)
    ref = SiLogLoss()(pred, gt)  # mmseg's loss, masking gt <= eps
    torch.testing.assert_close(alone, ref)


def test_window_without_valid_depth_is_skipped():
    """SiLog of an all-invalid sample is sqrt(0): its gradient would be
    NaN. Such windows are left out of the batch."""
    head = _model().decode_head
    gen = torch.Generator().manual_seed(1)
    gt = 1 + 4 * torch.rand(2, 1, 8, 8, generator=gen)
    gt[1] = 0
    pred = (1 + 4 * torch.rand(2, 1, 8, 8, generator=gen)).requires_grad_()
    samples = [SegDataSample(gt_depth_map=PixelData(data=g)) for g in gt]
    loss = head.loss_by_feat(pred, samples)['loss_silog']
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert (pred.grad[1] == 0).all() and pred.grad[0].abs().sum() > 0
    torch.testing.assert_close(loss, SiLogLoss()(pred[:1], gt[:1]))
    # No valid pixel at all: zero loss, still differentiable.
    none = head.loss_by_feat(pred, [SegDataSample(
        gt_depth_map=PixelData(data=torch.zeros(1, 8, 8)))] * 2)
    assert none['loss_silog'] == 0 and none['loss_silog'].requires_grad


@pytest.mark.parametrize('cls,cfg', [
    (ConvNeXtDepthHead, dict(in_channels=8, channels=8, num_convs=1)),
    (WinDPTDepthHead, dict(in_channels=[8] * 4, channels=8,
                           layer_dims=[4, 4, 8, 8], last_dim=4)),
])
def test_depth_is_positive_and_bounded(cls, cfg):
    head = cls(max_depth=3., **cfg)
    assert head.num_classes == head.out_channels == 1
    assert type(head.loss_decode).__name__ == 'SiLogLoss'
    maps = [10 * torch.randn(2, 8, 2, 4) for _ in range(4)]
    with torch.no_grad():
        out = head(maps)
        assert out.shape[:2] == (2, 1)
        assert (out > 0).all() and (out < 3).all()
        head.conv_seg.weight.zero_()
        head.conv_seg.bias.fill_(1e3)  # saturate: the bound, not beyond
        assert (head(maps) == 3).all()
        head.conv_seg.bias.fill_(-1e3)
        assert (head(maps) == 0).all()
    with pytest.raises(ValueError, match='num_classes=1'):
        cls(num_classes=19, **cfg)
    with pytest.raises(ValueError, match='max_depth'):
        cls(max_depth=0, **cfg)


def test_predict_returns_depth_at_original_size():
    model = _model().eval()
    H, W = 40, 56  # not a multiple of the patch size: the preprocessor
    # pads (48x64), the post-processing crops back
    samples = [_sample(_depth_ramp(H, W)) for _ in range(2)]
    images = list(torch.randint(0, 256, (2, 3, H, W), dtype=torch.uint8))
    with torch.no_grad():
        out = model.test_step(dict(inputs=images, data_samples=samples))
    for s in out:
        depth = s.pred_depth_map.data
        assert depth.shape == (1, H, W)
        assert (depth > 0).all() and (depth < MAX_DEPTH).all()


def _count_backbone_calls(model):
    shapes = []
    model.backbone.register_forward_hook(
        lambda m, args, out: shapes.append(tuple(args[0].shape[-2:])))
    return shapes


def _hand_tiling(model, inputs, crop, stride):
    """Tile by hand: every crop through the whole-image path, depths
    averaged where tiles overlap."""
    (ch, cw), (sh, sw) = crop, stride
    H, W = inputs.shape[-2:]
    total = torch.zeros(inputs.shape[0], 1, H, W)
    count = torch.zeros(1, 1, H, W)
    ys = sorted({min(y, H - ch) for y in range(0, H - ch + sh, sh)})
    xs = sorted({min(x, W - cw) for x in range(0, W - cw + sw, sw)})
    for y in ys:
        for x in xs:
            tile = inputs[..., y:y + ch, x:x + cw]
            meta = [dict(img_shape=(ch, cw))] * inputs.shape[0]
            total[..., y:y + ch, x:x + cw] += model.encode_decode(tile, meta)
            count[..., y:y + ch, x:x + cw] += 1
    return total / count, len(ys) * len(xs)


@pytest.mark.parametrize('crop,stride', [((32, 32), (32, 32)),
                                         ((32, 48), (16, 24))])
def test_slide_inference_really_tiles(crop, stride):
    """mmseg's DepthEstimator discards its tiles for mode='slide'; ours
    runs one backbone pass per tile and equals a hand-made tiling."""
    model = _model(mode='slide', crop_size=crop, stride=stride).eval()
    H, W = 64, 96
    inputs = torch.randn(2, 3, H, W)
    metas = [dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W))
             for _ in range(2)]
    shapes = _count_backbone_calls(model)
    with torch.no_grad():
        tiled = model.inference(inputs, [dict(m) for m in metas])
        calls = list(shapes)
        expected, num_tiles = _hand_tiling(model, inputs, crop, stride)
        whole = model.whole_inference(inputs, metas)
    assert num_tiles > 1 and calls == [crop] * num_tiles
    assert tiled.shape == (2, 1, H, W)
    torch.testing.assert_close(tiled, expected)
    # Global attention with RoPE sees the whole image in one pass: tiles
    # lose that context, so the results differ.
    assert (tiled - whole).abs().max() > 1e-4


def test_whole_inference_is_one_pass_and_unknown_mode_fails():
    model = _model().eval()
    shapes = _count_backbone_calls(model)
    metas = [dict(img_shape=(48, 64), ori_shape=(48, 64))]
    with torch.no_grad():
        model.inference(torch.randn(1, 3, 48, 64), metas)
    assert shapes == [(48, 64)]
    model.test_cfg = ConfigDict(mode='tiles')
    with pytest.raises(ValueError, match='slide'):
        model.inference(torch.randn(1, 3, 48, 64), metas)


def test_whole_image_training_for_the_baseline():
    model = _model(train_cfg=dict(whole_image=True))
    shapes = _count_backbone_calls(model)
    samples = [_sample(_depth_ramp(48, 64)) for _ in range(2)]
    losses = model.loss(torch.randn(2, 3, 48, 64), samples)
    assert shapes == [(48, 64)] and torch.isfinite(losses['decode.loss_silog'])
    with pytest.raises(ValueError, match='RandomWindows'):
        model.loss(torch.randn(1, 3, 48, 64), [_sample(
            _depth_ramp(48, 64), torch.tensor([[0, 0, 16, 16]]))])
