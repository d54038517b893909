"""RoPEVisionTransformer: CroCo parity, windows, odd sizes, gradients."""
import os.path as osp

import pytest
import torch

from winwin_mm.models.backbones import RoPEVisionTransformer
from winwin_mm.utils.croco import add_unit_temperatures, split_croco_state_dict

FIXTURE = osp.join(osp.dirname(__file__), 'data', 'croco_encoder_parity.pt')


@pytest.fixture(scope='module')
def croco():
    return torch.load(FIXTURE, weights_only=True)


def _fixture_model(croco, **kwargs):
    cfg = croco['config']
    model = RoPEVisionTransformer(
        arch=None, embed_dims=cfg['embed_dims'], num_layers=cfg['num_layers'],
        num_heads=cfg['num_heads'], patch_size=cfg['patch_size'],
        mlp_ratio=cfg['mlp_ratio'], rope_base=cfg['rope_base'],
        out_indices=list(range(cfg['num_layers'])), **kwargs)
    encoder, _ = split_croco_state_dict(dict(model=croco['state_dict']))
    add_unit_temperatures(encoder, cfg['num_heads'])
    model.load_state_dict(encoder, strict=True)
    return model.eval()


def _tokens(m):  # (B, C, h, w) -> (B, h*w, C)
    return m.flatten(2).transpose(1, 2)


def test_full_image_parity(croco):
    model = _fixture_model(croco)
    with torch.no_grad():
        outs = model(croco['image'])
    assert outs[-1].shape == (1, 96, 4, 6)
    torch.testing.assert_close(_tokens(outs[0]), croco['block_outputs'][0],
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(_tokens(outs[-1]), croco['output'],
                               atol=1e-5, rtol=0)


def test_two_window_parity(croco):
    model = _fixture_model(croco)
    with torch.no_grad():
        outs = model(croco['image'], croco['windows'][None])
    maps = outs[-1]  # (K, C, 2, 2)
    assert maps.shape == (2, 96, 2, 2)
    tokens = torch.cat([_tokens(maps[k:k + 1]) for k in range(2)], dim=1)
    # The fixture lists window tokens in row-major order of the full grid,
    # which here is window 0 then window 1.
    torch.testing.assert_close(tokens, croco['window_output'], atol=1e-5,
                               rtol=0)
    # ...and it differs from cropping the full-image output: attention saw
    # only the windows.
    full = model(croco['image'])[-1]
    assert not torch.allclose(maps[0], full[0, :, :2, :2], atol=1e-3)


def test_manual_attention_equals_fused(croco):
    fused = _fixture_model(croco)
    manual = _fixture_model(croco, fused_attn=False)
    x = croco['image']
    with torch.no_grad():
        torch.testing.assert_close(fused(x)[-1], manual(x)[-1], atol=1e-5,
                                   rtol=0)


def _small(**kwargs):
    torch.manual_seed(0)
    model = RoPEVisionTransformer(arch=None, embed_dims=32, num_layers=2,
                                  num_heads=2, patch_size=8, **kwargs)
    model.init_weights()
    return model


@pytest.mark.parametrize('size', [(45, 80), (37, 61), (8, 8)])
def test_whole_image_any_size(size):
    model = _small().eval()
    out = model(torch.randn(2, 3, *size))[-1]
    assert out.shape == (2, 32, -(-size[0] // 8), -(-size[1] // 8))
    assert torch.isfinite(out).all()


def test_windows_rows_follow_image_then_window_order():
    model = _small().eval()
    img = torch.randn(2, 3, 48, 64)
    boxes = torch.tensor([[[0, 0, 16, 16], [32, 16, 48, 32]],
                          [[16, 8, 32, 24], [48, 32, 64, 48]]])
    with torch.no_grad():
        out = model(img, boxes)[-1]
        assert out.shape == (4, 32, 2, 2)
        # Each image alone gives the same rows: no mixing across the batch.
        for b in range(2):
            alone = model(img[b:b + 1], boxes[b:b + 1])[-1]
            torch.testing.assert_close(out[2 * b:2 * b + 2], alone,
                                       atol=1e-5, rtol=0)


def test_unequal_windows_and_counts_pad_and_mask():
    model = _small().eval()
    img = torch.randn(2, 3, 48, 64)
    windows = [torch.tensor([[0, 0, 24, 16], [32, 16, 48, 48]]),
               torch.tensor([[8, 8, 24, 24]])]
    with torch.no_grad():
        out = model(img, windows)[-1]
        assert out.shape == (3, 32, 4, 3)  # h_max=4 (32 px), w_max=3 (24 px)
        # Padding of image 1 (fewer tokens) must not leak into its result.
        alone = model(img[1:], [windows[1]])[-1]
        torch.testing.assert_close(out[2, :, :2, :2], alone[0], atol=1e-5,
                                   rtol=0)
        assert (out[2, :, 2:, :] == 0).all() and (out[0, :, :, 3:] == 0).all()


def test_bad_windows_name_the_window():
    model = _small()
    img = torch.randn(1, 3, 48, 64)
    with pytest.raises(ValueError, match='window 1.*patch grid'):
        model(img, torch.tensor([[[0, 0, 16, 16], [20, 0, 36, 16]]]))
    with pytest.raises(ValueError, match='window 0.*outside'):
        model(img, torch.tensor([[[56, 0, 72, 16]]]))
    with pytest.raises(ValueError, match='overlap'):
        model(img, torch.tensor([[[0, 0, 16, 16], [8, 8, 24, 24]]]))



@pytest.mark.parametrize('kernel', [8, 16, 24])
def test_patch_kernel_window_tokens_equal_whole_image_tokens(kernel):
    # Tokens that read a margin around their patch: a window's embeddings
    # are the whole image's at the same positions, at the image borders
    # (zeros beyond, as the padded conv) and inside (real pixels around).
    model = _small(patch_kernel_size=kernel).eval()
    assert model.patch_embed.proj.weight.shape[-2:] == (kernel, kernel)
    img = torch.randn(1, 3, 45, 61)  # not multiples of 8: padded grid
    boxes = torch.tensor([[[0, 0, 16, 24], [24, 16, 48, 40],
                           [48, 32, 56, 40]]])
    with torch.no_grad():
        whole, lay_w = model.embed(img)
        gh, gw = lay_w.sizes[0][0]
        grid = whole[0].reshape(gh, gw, -1)  # 6, 8, C
        win, lay = model.embed(img, boxes)
        rows, cols = lay.positions[0].unbind(-1)
        torch.testing.assert_close(win[0], grid[rows, cols], atol=1e-5,
                                   rtol=0)
        # The margin is read: a pixel just outside a window's first token
        # changes it only when the kernel reaches it.
        moved = img.clone()
        moved[..., 15, 30] += 10.  # 1 px above window 1 (y1 = 16)
        changed = model.embed(moved, boxes)[0][0, 6] - win[0, 6]
        assert (changed.abs().max() > 1e-4) == (kernel > 8)


def test_patch_kernel_size_errors():
    with pytest.raises(ValueError, match="patch_kernel_size=11"):
        _small(patch_kernel_size=11)  # odd margin
    with pytest.raises(ValueError, match='patch_kernel_size=4'):
        _small(patch_kernel_size=4)
    model = _small(patch_kernel_size=16)
    with pytest.raises(ValueError, match='extra_tokens'):
        model(torch.randn(1, 3, 32, 32), torch.tensor([[[0, 0, 16, 16]]]),
              extra_tokens=torch.tensor([[[24, 24, 32, 32]]]))

@pytest.mark.parametrize('windows', [None, 'boxes'])
def test_every_parameter_gets_a_gradient(windows):
    model = _small(out_indices=(0, 1), drop_path_rate=0.1)
    model.train()
    img = torch.randn(2, 3, 40, 56)
    boxes = None if windows is None else torch.tensor(
        [[[0, 0, 16, 16], [24, 16, 48, 40]]] * 2)
    loss = sum(o.square().mean() for o in model(img, boxes))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_with_cp_matches():
    model = _small()
    img = torch.randn(1, 3, 32, 32, requires_grad=True)
    ref = model(img)[-1]
    model.with_cp = True
    torch.testing.assert_close(model(img)[-1], ref)


def test_final_norm_only_on_last_layer():
    model = _small(out_indices=(0, 1)).eval()
    img = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        normed = model(img)
        model.final_norm = False
        raw = model(img)
    torch.testing.assert_close(normed[0], raw[0])
    torch.testing.assert_close(
        normed[1], model.norm(raw[1].permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


def test_arch_presets_and_layer_depth():
    # Parameter counts as documented in the README's model table.
    presets = {'s': (384, 12, 6, 21_589_632), 'b': (768, 12, 12, 85_646_592),
               'l': (1024, 24, 16, 303_098_880)}
    for arch, (dims, layers, heads, count) in presets.items():
        with torch.device('meta'):
            m = RoPEVisionTransformer(arch=arch)
        assert (m.embed_dims, m.num_layers, m.num_heads) == (dims, layers,
                                                             heads)
        assert sum(p.numel() for p in m.parameters()) == count
    m = _small()
    assert m.get_layer_depth('backbone.patch_embed.proj.weight',
                             'backbone.') == (0, 4)
    assert m.get_layer_depth('backbone.layers.1.attn.qkv.weight',
                             'backbone.') == (2, 4)
    assert m.get_layer_depth('decode_head.conv_seg.weight',
                             'backbone.') == (3, 4)
    with pytest.raises(ValueError, match='unknown arch'):
        RoPEVisionTransformer(arch='xl')


def test_set_temperature_validates_and_round_trips():
    model = _small()
    model.set_temperature(1.3)
    assert torch.equal(model.get_temperature(), torch.full((2, 2), 1.3))
    t = torch.tensor([[1.0, 1.1], [1.2, 1.3]])
    model.set_temperature(t)
    torch.testing.assert_close(model.get_temperature(), t)
    sd = model.state_dict()
    assert torch.equal(sd['layers.1.attn.temperature'], t[1])
    with pytest.raises(ValueError, match=r'\(num_layers, num_heads\)'):
        model.set_temperature(torch.ones(3))


def test_missing_pretrained_file_explains_conversion(tmp_path):
    model = RoPEVisionTransformer(
        arch=None, embed_dims=32, num_layers=1, num_heads=2,
        init_cfg=dict(type='Pretrained',
                      checkpoint=str(tmp_path / 'missing.pth')))
    with pytest.raises(FileNotFoundError, match='convert_croco.py'):
        model.init_weights()
