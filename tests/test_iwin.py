"""IwinTransformer: official parity, sizes, archs, gradients, checkpoints,
frozen stages and the Win-Win window interface."""
import os.path as osp

import pytest
import torch

from winwin_mm.models.backbones import IwinTransformer
from winwin_mm.models.backbones import iwin as iwin_module
from winwin_mm.models.layers.iwin_layers import (interleave_partition,
                                                 interleave_reverse)

FIXTURE = osp.join(osp.dirname(__file__), 'data', 'iwin_parity.pt')
TINY = dict(arch=None, embed_dims=16, depths=(1, 1, 2, 1),
            num_heads=(1, 2, 4, 8), window_size=7)
# Exact parameter counts of the backbones with all four output norms; the
# table in docs/iwin.md states the same numbers.
PARAM_COUNTS = {'t': 29_458_848, 's': 50_798_496, 'b': 90_218_368,
                'l': 202_788_672}


@pytest.fixture(scope='module')
def ref():
    return torch.load(FIXTURE, weights_only=True)


def _fixture_model(ref, **kwargs):
    model = IwinTransformer(arch=None, **ref['config'], **kwargs)
    model.load_state_dict(ref['state_dict'], strict=True)
    return model.eval()


def _tiny(**kwargs):
    torch.manual_seed(0)
    model = IwinTransformer(**dict(TINY, **kwargs))
    model.init_weights()
    return model


def _random_loss(outs):
    # Random weights: a plain sum of LayerNorm outputs has zero gradient.
    gen = torch.Generator().manual_seed(1)
    return sum((o * torch.randn(o.shape, generator=gen)).sum() for o in outs)


def _assert_matches_fixture(outs, ref):
    assert len(outs) == 4
    for out, expected in zip(outs, ref['outputs']):
        assert out.shape == expected.shape
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


# ------------------------------------------------------------------ parity
def test_parity_with_official_outputs(ref):
    """Odd 100x130 input: patch, window and downsample padding all hit."""
    model = _fixture_model(ref)
    with torch.no_grad():
        outs = model(ref['image'])
    assert [tuple(o.shape[-2:]) for o in outs] == [(25, 33), (13, 17), (7, 9),
                                                   (4, 5)]
    _assert_matches_fixture(outs, ref)


def test_interleaved_windows_are_strided():
    """Window (gh, gw) holds rows = gh mod Hg and cols = gw mod Wg."""
    ws, Hg, Wg = 3, 2, 4
    rows = torch.arange(ws * Hg).view(1, -1, 1, 1).expand(1, ws * Hg,
                                                          ws * Wg, 1)
    cols = torch.arange(ws * Wg).view(1, 1, -1, 1).expand(1, ws * Hg,
                                                          ws * Wg, 1)
    x = torch.cat([rows, cols], -1).float()  # 1, Hp, Wp, 2 = (row, col)
    windows = interleave_partition(x, ws)  # Hg*Wg, ws*ws, 2
    assert windows.shape == (Hg * Wg, ws * ws, 2)
    for g in range(Hg * Wg):
        gh, gw = divmod(g, Wg)
        assert set(windows[g, :, 0].long().tolist()) == {
            gh + Hg * i for i in range(ws)}
        assert set(windows[g, :, 1].long().tolist()) == {
            gw + Wg * j for j in range(ws)}
    assert torch.equal(interleave_reverse(windows, ws, ws * Hg, ws * Wg), x)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize('size', [(1, 1), (31, 45), (64, 64), (90, 37)])
def test_any_input_size(size):
    model = _tiny().eval()
    H, W = size
    with torch.no_grad():
        outs = model(torch.randn(2, 3, H, W))
    h, w = -(-H // 4), -(-W // 4)
    for i, out in enumerate(outs):
        assert out.shape == (2, 16 * 2**i, h, w)
        assert torch.isfinite(out).all()
        h, w = -(-h // 2), -(-w // 2)


def test_out_indices_and_norms():
    model = _tiny(out_indices=(-1, 1))
    assert model.out_indices == (1, 3)
    assert hasattr(model, 'norm1') and hasattr(model, 'norm3')
    assert not hasattr(model, 'norm0')
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 128]
    assert model.size_divisor == 32


@pytest.mark.parametrize('arch', sorted(PARAM_COUNTS))
def test_arch_parameter_count(arch):
    with torch.device('meta'):
        model = IwinTransformer(arch=arch)
    assert sum(p.numel() for p in model.parameters()) == PARAM_COUNTS[arch]
    # Only the last stage has no depthwise conv branch.
    dw = model.layers[2].blocks[0].dwconv.depthwise  # depthwise 3x3
    assert dw.groups == dw.in_channels == dw.out_channels
    assert dw.kernel_size == (3, 3)
    assert model.layers[3].blocks[0].dwconv is None


def test_arch_preset_and_overrides():
    with torch.device('meta'):
        model = IwinTransformer(arch='b')
        assert (model.embed_dims, model.depths, model.num_heads) == (
            128, (2, 2, 18, 2), (4, 8, 16, 32))
        model = IwinTransformer(arch='t', depths=(1, 1, 1, 1))
        assert (model.embed_dims, model.depths) == (96, (1, 1, 1, 1))
    with pytest.raises(ValueError, match='arch'):
        IwinTransformer(arch='xl')
    with pytest.raises(ValueError, match='embed_dims'):
        IwinTransformer(arch=None, embed_dims=16)


# --------------------------------------------------------------- training
def test_gradient_reaches_every_parameter():
    model = _tiny(drop_path_rate=0.).train()
    _random_loss(model(torch.randn(2, 3, 45, 61))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_with_cp_same_output_and_grads():
    x = torch.randn(2, 3, 40, 56)
    results = []
    for with_cp in (False, True):
        model = _tiny(with_cp=with_cp, drop_path_rate=0.).train()
        outs = model(x)
        _random_loss(outs).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        results.append((outs, grads))
    (outs0, g0), (outs1, g1) = results
    for a, b in zip(outs0, outs1):
        torch.testing.assert_close(a, b)
    for name in g0:
        torch.testing.assert_close(g0[name], g1[name], msg=name)


def test_frozen_stages_stay_frozen():
    model = _tiny(frozen_stages=2)
    model.train()
    frozen = [model.patch_embed, model.layers[0], model.layers[1],
              model.norm0, model.norm1]
    trained = [model.layers[2], model.layers[3], model.norm2, model.norm3]
    for m in frozen:
        assert not m.training
        assert not any(p.requires_grad for p in m.parameters())
    for m in trained:
        assert m.training
        assert all(p.requires_grad for p in m.parameters())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _random_loss(model(torch.randn(1, 3, 64, 64))).backward()
    opt.step()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None and torch.equal(before[name], p), name


def test_layer_depth():
    model = _tiny()  # depths (1, 1, 2, 1): 5 blocks, 7 depths in all
    assert model.get_layer_depth('backbone.patch_embed.proj.weight',
                                 'backbone.') == (0, 7)
    assert model.get_layer_depth('layers.2.blocks.1.attn.qkv.weight') == (
        4, 7)
    assert model.get_layer_depth('layers.1.downsample.conv.weight') == (2, 7)
    assert model.get_layer_depth('norm3.weight') == (6, 7)
    assert model.get_layer_depth('decode_head.conv_seg.weight',
                                 'backbone.') == (6, 7)


# ------------------------------------------------------------- checkpoints
@pytest.fixture
def logs(monkeypatch):
    messages = []
    monkeypatch.setattr(iwin_module, 'print_log',
                        lambda msg, *a, **k: messages.append(msg))
    return messages


def _load(ref, path, **kwargs):
    model = IwinTransformer(
        arch=None, **ref['config'],
        init_cfg=dict(type='Pretrained', checkpoint=str(path)), **kwargs)
    model.init_weights()
    return model.eval()


def test_load_segmentation_checkpoint(ref, tmp_path, logs):
    """A full mmseg segmentor checkpoint: backbone.* keys used as they are."""
    state = {f'backbone.{k}': v for k, v in ref['state_dict'].items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(19, 8, 1, 1)
    path = tmp_path / 'iwin_upernet.pth'
    torch.save(dict(meta=dict(iter=1), state_dict=state), path)
    model = _load(ref, path)
    with torch.no_grad():
        _assert_matches_fixture(model(ref['image']), ref)
    assert not any('newly initialised' in m for m in logs)
    # ...and the backbone state dict alone, at the top level.
    path = tmp_path / 'iwin_backbone.pth'
    torch.save(ref['state_dict'], path)
    with torch.no_grad():
        _assert_matches_fixture(_load(ref, path)(ref['image']), ref)


def test_load_classification_checkpoint(ref, tmp_path, logs):
    state = {k: v for k, v in ref['state_dict'].items()
             if not k.startswith('norm')}
    state.update({'norm.weight': torch.rand(128), 'norm.bias': torch.rand(128),
                  'head.weight': torch.rand(10, 128),
                  'head.bias': torch.rand(10)})
    path = tmp_path / 'iwin_tiny_in1k.pth'
    torch.save(dict(model=state, epoch=300), path)
    model = _load(ref, path)
    loaded = model.state_dict()
    for k, v in state.items():
        if not k.startswith(('norm.', 'head.')):
            assert torch.equal(loaded[k], v), k
    for i in range(4):  # output norms: fresh LayerNorms
        assert torch.equal(loaded[f'norm{i}.weight'],
                           torch.ones_like(loaded[f'norm{i}.weight']))
        assert torch.equal(loaded[f'norm{i}.bias'],
                           torch.zeros_like(loaded[f'norm{i}.bias']))
    text = '\n'.join(logs)
    assert 'classification checkpoint' in text and 'head.weight' in text
    [missing] = [m for m in logs if 'newly initialised' in m]
    assert all(f'norm{i}.weight' in missing for i in range(4))
    assert 'layers.' not in missing
    assert not any('ignored checkpoint keys' in m for m in logs)


def test_missing_checkpoint_names_the_path(ref, tmp_path):
    path = tmp_path / 'nope' / 'iwin_tiny.pth'
    with pytest.raises(FileNotFoundError, match='iwin_tiny.pth'):
        _load(ref, path)


def test_checkpoint_of_another_arch_fails_loudly(ref, tmp_path):
    state = dict(ref['state_dict'])
    state['patch_embed.proj.weight'] = torch.zeros(32, 3, 4, 4)
    path = tmp_path / 'wrong.pth'
    torch.save(state, path)
    with pytest.raises(RuntimeError, match='patch_embed.proj.weight'):
        _load(ref, path)


# ----------------------------------------------------------------- windows
def test_windows_equal_separate_crops():
    model = _tiny().eval()
    x = torch.randn(2, 3, 96, 160)
    # The last window is 64x32 pixels, smaller than the others.
    windows = torch.tensor([[[0, 0, 64, 64], [96, 32, 160, 96]],
                            [[32, 0, 96, 64], [0, 64, 64, 96]]])
    with torch.no_grad():
        outs = model(x, windows)
        for b in range(2):
            for k, (x1, y1, x2, y2) in enumerate(windows[b].tolist()):
                crop = model(x[b:b + 1, :, y1:y2, x1:x2])
                for out, expected in zip(outs, crop):
                    h, w = expected.shape[-2:]
                    got = out[b * 2 + k]
                    torch.testing.assert_close(got[:, :h, :w], expected[0])
                    # Smaller windows are zero-padded to the largest map.
                    assert not got[:, h:].any() and not got[:, :, w:].any()
    assert [o.shape for o in outs] == [(4, 16 * 2**i, 16 // 2**i,
                                        16 // 2**i) for i in range(4)]
    # The list form (K may differ per image) gives the same rows.
    with torch.no_grad():
        outs_list = model(x, [windows[0], windows[1, :1]])
    assert outs_list[0].shape[0] == 3
    torch.testing.assert_close(outs_list[0], outs[0][:3])


def test_invalid_windows_are_rejected():
    model = _tiny().eval()
    x = torch.randn(1, 3, 64, 64)
    with pytest.raises(ValueError, match='patch grid'):
        model(x, torch.tensor([[[0, 0, 30, 32]]]))
    with pytest.raises(ValueError, match='outside'):
        model(x, torch.tensor([[[0, 0, 32, 96]]]))
