"""Random isolated tokens (MAE-style baseline, paper Table 2 / Appendix C):
N windows of one token each, a per-token linear head, labels cropped to the
right tokens."""
import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401

P = 8
H, W = 32, 48  # 4x6 tokens


def _model():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size_divisor=P),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, patch_size=P),
        decode_head=dict(type='TokenLinearHead', in_channels=32,
                         upsample_factor=P, num_classes=5),
        test_cfg=dict(mode='whole')))
    model.init_weights()
    model.test_cfg = ConfigDict(mode='whole')
    return model


def _random_tokens(n: int) -> np.ndarray:
    t = TRANSFORMS.build(dict(type='RandomWindows', patch_size=P,
                              num_windows=n, window_size=1))
    return t(dict(img=np.zeros((H, W, 3), np.uint8)))['windows']


def test_random_tokens_are_distinct_single_patches():
    np.random.seed(0)
    boxes = _random_tokens(10)
    assert boxes.shape == (10, 4)
    assert ((boxes[:, 2:] - boxes[:, :2]) == P).all()
    assert (boxes % P == 0).all()
    assert len({tuple(b) for b in boxes.tolist()}) == 10


def test_labels_are_cropped_to_the_right_tokens():
    model = _model()
    np.random.seed(1)
    boxes = torch.as_tensor(_random_tokens(7))
    label = torch.arange(H * W).reshape(H, W) % 250  # every pixel distinct
    sample = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W),
                                         windows=boxes))
    sample.gt_sem_seg = PixelData(data=label[None])
    windows, from_samples = model._batch_windows(torch.zeros(1, 3, H, W),
                                                 [sample])
    assert from_samples
    crops = model.crop_data_samples([sample], windows)
    assert len(crops) == 7
    for crop, (x1, y1, x2, y2) in zip(crops, boxes.tolist()):
        assert torch.equal(crop.gt_sem_seg.data[0], label[y1:y2, x1:x2])
        assert crop.metainfo['window'] == [x1, y1, x2, y2]

    # Training: one (P x P) logit map per token, a finite loss with
    # gradients; the whole image is predicted in one pass.
    seen = []
    head_forward = model.decode_head.forward
    model.decode_head.forward = lambda x: seen.append(x[0].shape) or \
        head_forward(x)
    sample.gt_sem_seg = PixelData(data=(label % 5)[None])
    loss = model.loss(torch.rand(1, 3, H, W), [sample])['decode.loss_ce']
    assert seen == [torch.Size([7, 32, 1, 1])]
    loss.backward()
    assert torch.isfinite(loss)
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, H, W), [sample])
    assert out[0].seg_logits.data.shape == (5, H, W)


def test_token_linear_head_is_per_token():
    model = _model()
    head = model.decode_head
    x = torch.randn(1, 32, 4, 6)
    out = head([x])
    assert out.shape == (1, 5, 4 * P, 6 * P)
    y = x.clone()
    y[:, :, 0, 0] += 5  # change token (0, 0) only
    diff = (head([y]) - out).abs().sum(1)[0]  # 4P, 6P
    assert diff[:P, :P].min() > 0
    assert diff[P:, :].max() == 0 and diff[:, P:].max() == 0
