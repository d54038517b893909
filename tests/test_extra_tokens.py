"""Extra isolated tokens (paper Table 7 right): drawn by RandomWindows
outside the windows, they take part in attention and never reach the head
or the loss."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401

P = 8  # patch size
H, W = 32, 48  # a 4x6 token grid
WINDOWS = torch.tensor([[0, 0, 16, 16], [32, 16, 48, 32]])  # 2 of 2x2
EXTRA = torch.tensor([[24, 0, 32, 8], [8, 24, 16, 32]])  # 2 tokens outside


def _model():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size_divisor=P),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, patch_size=P),
        decode_head=dict(type='ConvNeXtHead', in_channels=32, channels=16,
                         num_convs=1, num_classes=5),
        test_cfg=dict(mode='whole')))
    model.init_weights()
    return model


def _sample(label, extra=True):
    meta = dict(img_shape=(H, W), ori_shape=(H, W), windows=WINDOWS)
    if extra:
        meta['extra_tokens'] = EXTRA
    s = SegDataSample(metainfo=meta)
    s.gt_sem_seg = PixelData(data=label[None])
    return s


def _loss(model, img, label, extra=True):
    losses = model.loss(img, [_sample(label, extra)])
    return losses['decode.loss_ce']


def _under_extra(t, value):
    """``t`` (..., H, W) with the pixels of the extra tokens set."""
    t = t.clone()
    for x1, y1, x2, y2 in EXTRA.tolist():
        t[..., y1:y2, x1:x2] = value
    return t


def test_random_windows_draws_extra_tokens_outside_windows():
    t = TRANSFORMS.build(dict(type='RandomWindows', patch_size=P,
                              num_windows=2, window_size=2,
                              num_extra_tokens=5))
    np.random.seed(0)
    for _ in range(20):
        out = t(dict(img=np.zeros((H, W, 3), np.uint8)))
        wins, extra = out['windows'], out['extra_tokens']
        assert extra.shape == (5, 4) and extra.dtype == np.int64
        assert ((extra[:, 2:] - extra[:, :2]) == P).all()
        assert len({tuple(e) for e in extra.tolist()}) == 5
        for x1, y1, _, _ in extra.tolist():
            assert not any(a <= x1 < c and b <= y1 < d
                           for a, b, c, d in wins.tolist())
    # No key without extra tokens; too many is a clear error.
    plain = TRANSFORMS.build(dict(type='RandomWindows', patch_size=P,
                                  num_windows=2, window_size=2))
    assert 'extra_tokens' not in plain(dict(img=np.zeros((H, W, 3))))
    greedy = TRANSFORMS.build(dict(type='RandomWindows', patch_size=P,
                                   num_windows=2, window_size=2,
                                   num_extra_tokens=17))
    with pytest.raises(ValueError, match='only 16 of the 4x6 tokens'):
        greedy(dict(img=np.zeros((H, W, 3))))


def test_extra_tokens_take_part_in_attention_not_in_head_or_loss():
    model = _model()
    torch.nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)
    torch.manual_seed(1)
    img = torch.rand(1, 3, H, W)
    label = torch.randint(0, 5, (H, W))
    seen = []
    head_forward = model.decode_head.forward
    model.decode_head.forward = lambda x: seen.append(x[0].detach()) or \
        head_forward(x)

    with_extra = _loss(model, img, label)
    # The head sees the two 2x2 windows only, never a map for an extra.
    assert seen[0].shape == (2, 32, 2, 2)
    # Attention: the extra tokens' pixels change the windows' features and
    # loss, and dropping the extra tokens changes them too.
    changed = _loss(model, _under_extra(img, 1.0), label)
    assert (seen[1] - seen[0]).abs().max() > 1e-3
    assert abs(float(changed - with_extra)) > 1e-4
    _loss(model, img, label, extra=False)
    assert (seen[2] - seen[0]).abs().max() > 1e-3
    # Loss: the labels under the extra tokens do not count at all.
    for value in (0, 4, 255):
        assert torch.equal(with_extra,
                           _loss(model, img, _under_extra(label, value)))


def test_gathered_patches_match_the_window_path():
    """An extra token's embedding equals that of the same token as a 1x1
    window, and an image may have no extra token."""
    model = _model()
    img = torch.rand(2, 3, H, W)
    no_extra = torch.zeros(0, 4, dtype=torch.long)
    x, layout = model.backbone.embed(img, [WINDOWS, WINDOWS],
                                     extra_tokens=[EXTRA, no_extra])
    ref, _ = model.backbone.embed(img[:1], [torch.cat([WINDOWS, EXTRA])])
    assert layout.extra == [2, 0] and layout.mask[1].sum() == 8
    assert torch.allclose(x[0, :10], ref[0], atol=1e-6)
    assert torch.equal(layout.positions[0, 8:], torch.tensor([[0, 3],
                                                             [3, 1]]))


def test_backbone_rejects_extra_tokens_inside_a_window():
    model = _model()
    bad = torch.tensor([[8, 8, 16, 16]])  # inside window 0
    with pytest.raises(ValueError, match='lies in window 0'):
        model.backbone(torch.rand(1, 3, H, W), [WINDOWS], extra_tokens=[bad])
    with pytest.raises(ValueError, match='pass windows'):
        model.backbone(torch.rand(1, 3, H, W), None, extra_tokens=[EXTRA])
