"""WinWinEncoderDecoder: per-window ground truth and whole-image predict."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401


def _model(**test_cfg):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size_divisor=8,
                               test_cfg=dict(size_divisor=8)),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, patch_size=8),
        decode_head=dict(type='ConvNeXtHead', in_channels=32, channels=16,
                         num_convs=1, num_classes=5),
        test_cfg=dict(mode='whole')))
    model.init_weights()
    model.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))
    return model


def _sample(label, windows=None):
    meta = dict(img_shape=label.shape[-2:], ori_shape=label.shape[-2:])
    if windows is not None:
        meta['windows'] = windows
    s = SegDataSample(metainfo=meta)
    s.gt_sem_seg = PixelData(data=label[None])
    return s


def test_ground_truth_is_cropped_per_window():
    model = _model()
    H, W = 32, 48
    labels = [torch.arange(H * W).reshape(H, W) % 251 for _ in range(2)]
    labels[1] = labels[1].flip(0)
    wins = [torch.tensor([[0, 0, 16, 16], [24, 8, 48, 24]]),
            torch.tensor([[8, 16, 24, 32]])]
    samples = [_sample(l, w) for l, w in zip(labels, wins)]
    windows, from_samples = model._batch_windows(torch.zeros(2, 3, H, W),
                                                 samples)
    assert from_samples
    out = model.crop_data_samples(samples, windows)
    assert len(out) == 3  # rows: image 0 window 0, window 1, image 1 window 0
    expect = [labels[0][0:16, 0:16], labels[0][8:24, 24:48],
              labels[1][16:32, 8:24]]
    for sample, ref in zip(out, expect):
        gt = sample.gt_sem_seg.data[0]
        assert gt.shape == (16, 24)  # padded to the largest window
        h, w = ref.shape
        assert torch.equal(gt[:h, :w], ref)
        assert (gt[h:, :] == 255).all() and (gt[:, w:] == 255).all()


def test_loss_uses_windows_and_backprops():
    model = _model()
    H, W = 32, 48
    samples = [_sample(torch.randint(0, 5, (H, W)),
                       torch.tensor([[0, 0, 16, 16], [32, 16, 48, 32]]))
               for _ in range(2)]
    calls = []
    model.backbone.register_forward_hook(
        lambda m, args, out: calls.append(out[-1].shape))
    losses = model.loss(torch.randn(2, 3, H, W), samples)
    assert calls == [torch.Size([4, 32, 2, 2])]
    losses['decode.loss_ce'].backward()
    assert model.backbone.patch_embed.proj.weight.grad.abs().sum() > 0


def test_mixed_windows_in_a_batch_is_an_error():
    model = _model()
    samples = [_sample(torch.zeros(16, 16, dtype=torch.long),
                       torch.tensor([[0, 0, 8, 8]])),
               _sample(torch.zeros(16, 16, dtype=torch.long))]
    with pytest.raises(ValueError, match='RandomWindows'):
        model.loss(torch.randn(2, 3, 16, 16), samples)


def test_whole_image_predict_on_odd_size_is_one_pass():
    """The data preprocessor pads 45x61 to 48x64 (the only padding), one
    backbone pass runs on it, and the post-processing crops the logits back
    to exactly what the padded pass gives on the image's pixels."""
    model = _model().eval()
    calls = []
    model.backbone.register_forward_hook(
        lambda m, args, out: calls.append(args[0].shape))
    img = torch.randint(0, 256, (3, 45, 61), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(45, 61),
                                         ori_shape=(45, 61)))
    with torch.no_grad():
        out = model.test_step(dict(inputs=[img], data_samples=[sample]))
        padded = torch.nn.functional.pad(img.float(), (0, 3, 0, 3))[None]
        hand = model.encode_decode(padded, [dict()])[..., :45, :61]
    logits = out[0].seg_logits.data
    assert logits.shape == (5, 45, 61)
    assert out[0].pred_sem_seg.data.shape == (1, 45, 61)
    assert calls[0] == torch.Size([1, 3, 48, 64])  # padded to the grid
    torch.testing.assert_close(logits, hand[0])
    # The model never pads on its own: an odd input names the fix.
    with pytest.raises(ValueError, match=r'45x61 .*size_divisor=8'):
        model.encode_decode(torch.randn(1, 3, 45, 61), [dict()])


def test_test_padding_must_fit_the_backbone():
    with pytest.raises(ValueError, match=r'test_cfg.size_divisor=8 is not a '
                       r'multiple of the RoPEVisionTransformer size divisor '
                       r'16'):
        MODELS.build(dict(
            type='WinWinEncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor',
                                   test_cfg=dict(size_divisor=8)),
            backbone=dict(type='RoPEVisionTransformer', arch=None,
                          embed_dims=32, num_layers=1, num_heads=2),
            decode_head=dict(type='ConvNeXtHead', in_channels=32,
                             channels=16, num_convs=1, num_classes=5)))


def test_slide_mode_tiles():
    model = _model(mode='slide', crop_size=(16, 16), stride=(8, 8)).eval()
    calls = []
    model.backbone.register_forward_hook(lambda m, a, o: calls.append(1))
    with torch.no_grad():
        out = model.inference(torch.randn(1, 3, 32, 32),
                              [dict(img_shape=(32, 32), ori_shape=(32, 32),
                                    pad_shape=(32, 32))])
    assert out.shape == (1, 5, 32, 32)
    assert len(calls) == 9  # 3 x 3 overlapping tiles
