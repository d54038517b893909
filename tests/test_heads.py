"""Decode heads on per-window maps: odd/tiny grids, losses, batch
independence, DPT pad/crop and CroCo DPT weight compatibility."""
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from winwin_mm.models.decode_heads import ConvNeXtHead, WinDPTHead
from winwin_mm.utils.croco import convert_croco_dpt_state_dict
from winwin_mm.models.decode_heads.convnext_head import tokens_to_subpixels
from winwin_mm.models.decode_heads.win_dpt_head import _upsample2x

HERE = Path(__file__).resolve().parent
FLOW_FIXTURE = 'croco_flow_parity.pt'
FIXTURE_DIRS = [HERE / 'data']

# (N, C, h, w) token maps: odd, tiny and even grids.
SIZES = [(2, 32, 5, 7), (1, 32, 3, 3), (3, 32, 4, 6), (1, 32, 1, 1)]


def build_convnext(**kwargs) -> ConvNeXtHead:
    cfg = dict(
        type='ConvNeXtHead', in_channels=32, channels=16, num_convs=2,
        num_classes=5)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def build_dpt(**kwargs) -> WinDPTHead:
    cfg = dict(
        type='WinDPTHead', in_channels=[32] * 4, channels=16,
        layer_dims=[8, 16, 24, 32], last_dim=8, num_classes=5)
    cfg.update(kwargs)
    return MODELS.build(cfg)


# name -> (builder, output pixels per token side)
HEADS = {'convnext': (build_convnext, 4), 'dpt': (build_dpt, 16)}


def token_maps(size, num_maps=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*size, generator=gen) for _ in range(num_maps))


@pytest.mark.parametrize('name', HEADS)
@pytest.mark.parametrize('size', SIZES)
def test_output_shape_any_grid(name, size):
    build, stride = HEADS[name]
    n, _, h, w = size
    out = build()(token_maps(size))
    assert out.shape == (n, 5, stride * h, stride * w)
    assert torch.isfinite(out).all()


def test_registered_names():
    assert isinstance(build_convnext(), ConvNeXtHead)
    assert isinstance(build_dpt(), WinDPTHead)
    assert MODELS.get('DPTHead') is not WinDPTHead  # mmseg's stays its own
    head = build_convnext(drop_path_rate=0.1, layer_scale_init_value=0.)
    assert all(isinstance(b.drop_path, DropPath) for b in head.blocks)
    assert all(b.gamma is None for b in head.blocks)
    assert head.blocks[0].depthwise_conv.kernel_size == (7, 7)


@pytest.mark.parametrize('name', HEADS)
@pytest.mark.parametrize('size', [(2, 32, 5, 7), (1, 32, 3, 3)])
def test_seg_loss_reaches_every_parameter(name, size):
    build, _ = HEADS[name]
    head = build().train()  # no drop path: it may drop a whole sample
    n, _, h, w = size
    gen = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        label = torch.randint(0, 5, (1, 16 * h, 16 * w), generator=gen)
        label[:, :3, :3] = 255  # ignored pixels must not break the loss
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=label)))
    losses = head.loss(token_maps(size), samples, train_cfg={})
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    for pname, param in head.named_parameters():
        assert param.grad is not None, f'{pname} gets no gradient'
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, f'{pname} gradient is zero'


@pytest.mark.parametrize('name', HEADS)
@pytest.mark.parametrize('channels', [1, 3])
def test_regression_channels(name, channels):
    build, stride = HEADS[name]
    head = build(num_classes=channels, out_channels=channels, threshold=0.5)
    out = head(token_maps((2, 32, 3, 5)))
    assert out.shape == (2, channels, 3 * stride, 5 * stride)


@pytest.mark.parametrize('name', HEADS)
def test_windows_are_independent_in_batch(name):
    """A batch of two windows equals each window alone."""
    build, _ = HEADS[name]
    head = build().eval()
    maps = token_maps((2, 32, 5, 7))
    with torch.no_grad():
        batched = head(maps)
        for i in range(2):
            alone = head(tuple(x[i:i + 1] for x in maps))
            torch.testing.assert_close(
                batched[i:i + 1], alone, atol=1e-5, rtol=1e-5)


def test_subpixel_layout_is_multimae():
    """Channel ``(i * r + j) * C + c`` of token (y, x) -> pixel
    ``(y * r + i, x * r + j)``, channel ``c``."""
    r, c, h, w = 3, 2, 2, 4
    x = torch.randn(1, r * r * c, h, w)
    out = tokens_to_subpixels(x, r)
    assert out.shape == (1, c, r * h, r * w)
    for i in range(r):
        for j in range(r):
            for ch in range(c):
                assert torch.equal(out[0, ch, i::r, j::r],
                                   x[0, (i * r + j) * c + ch])


def test_dpt_even_grid_takes_no_padding():
    """On an even grid the pad/crop path is exactly the plain computation."""
    head = build_dpt().eval()
    maps = token_maps((2, 32, 4, 6))
    with torch.no_grad():
        plain = head.cls_seg(head.decode(list(maps)))
        assert torch.equal(head(maps), plain)


def test_dpt_odd_grid_pads_right_bottom():
    """An odd grid is decoded as the grid zero-padded right/bottom, with the
    output cropped at the top-left (pixels stay aligned with tokens)."""
    head = build_dpt().eval()
    maps = token_maps((2, 32, 5, 3))
    padded = tuple(F.pad(x, (0, 1, 0, 1)) for x in maps)
    with torch.no_grad():
        out = head(maps)
        ref = head(padded)[..., :80, :48]
    assert out.shape == (2, 5, 80, 48)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)


def test_dpt_upsampling_aligns_corners():
    """DPT / CroCo upsample x2 bilinearly with align_corners=True."""
    ramp = torch.tensor([[[[0., 3.]]]])  # 1, 1, 1, 2
    up = _upsample2x(ramp)
    expected = torch.tensor([0., 1., 2., 3.]).expand(1, 1, 2, 4)
    assert torch.allclose(up, expected)


def load_flow_fixture():
    for folder in FIXTURE_DIRS:
        if (folder / FLOW_FIXTURE).is_file():
            return torch.load(folder / FLOW_FIXTURE, weights_only=True)
    pytest.fail(f'{FLOW_FIXTURE} not found in {FIXTURE_DIRS} (the parity '
                'fixture is part of the repository)')


def test_croco_dpt_weights_load_one_to_one():
    fixture = load_flow_fixture()
    cfg = fixture['config']['dpt']
    enc = fixture['config']['encoder']['embed_dims']
    dec = fixture['config']['decoder']['embed_dims']
    head_sd = {
        k: v for k, v in fixture['state_dict'].items()
        if k.startswith('head.dpt.')
    }
    head = WinDPTHead(
        in_channels=[enc] + [dec] * 3,
        channels=cfg['feature_dim'],
        layer_dims=cfg['layer_dims'],
        last_dim=cfg['last_dim'],
        num_classes=cfg['num_channels']).eval()
    converted = convert_croco_dpt_state_dict(head_sd)
    head.load_state_dict(converted, strict=True)

    # CroCo stores each reassembly / layer_rn weight twice (aliases); apart
    # from those only the unused refinenet4.resConfUnit1 (4 tensors) is left.
    aliases = [
        k for k in head_sd if re.search(r'act_\d_postprocess|layer_rn\.', k)
    ]
    assert len(aliases) == 18
    assert len(converted) == len(head_sd) - len(aliases) - 4
    for ours, theirs in [
        ('reassemble.3.resample.weight', 'act_postprocess.3.1.weight'),
        ('feature_projs.0.weight', 'scratch.layer1_rn.weight'),
        ('fusions.2.skip_unit.conv2.bias',
         'scratch.refinenet3.resConfUnit1.conv2.bias'),
        ('fusions.3.path_unit.conv1.weight',
         'scratch.refinenet4.resConfUnit2.conv1.weight'),
        ('head_conv1.weight', 'head.0.weight'),
        ('conv_seg.bias', 'head.4.bias'),
    ]:
        assert torch.equal(head.state_dict()[ours],
                           head_sd['head.dpt.' + theirs]), ours

    # The loaded head runs on the fixture's token grid (64x96 px = 4x6).
    maps = (torch.randn(1, enc, 4, 6), ) + tuple(
        torch.randn(1, dec, 4, 6) for _ in range(3))
    with torch.no_grad():
        out = head(maps)
    assert out.shape == fixture['output'].shape == (1, 3, 64, 96)


def test_croco_dpt_converter_rejects_unknown_keys():
    with pytest.raises(KeyError):
        convert_croco_dpt_state_dict(
            {'head.dpt.mystery.weight': torch.ones(1)})
    aliases = {
        'head.dpt.scratch.layer1_rn.weight': torch.ones(1),
        'head.dpt.scratch.layer_rn.0.weight': torch.zeros(1),
    }
    with pytest.raises(ValueError):
        convert_croco_dpt_state_dict(aliases)
