"""RoPEVisionTransformer(pos_embed='cosine'): the absolute sin-cos baseline."""
import pytest
import torch

from winwin_mm.models.backbones import RoPEVisionTransformer


def _model(pos_embed='cosine', **kwargs):
    torch.manual_seed(0)
    model = RoPEVisionTransformer(arch=None, embed_dims=32, num_layers=2,
                                  num_heads=2, patch_size=4,
                                  pos_embed=pos_embed, init_cfg=None,
                                  **kwargs)
    model.init_weights()
    return model.eval()


def test_embedding_formula_row_major():
    """Token (row, col) gets [sin(col w), cos(col w), sin(row w),
    cos(row w)], w_d = base^(-d / (C / 4)), whatever the table's layout."""
    model = _model()
    pos = torch.tensor([[[0, 0], [2, 5], [3, 1], [1, 4]]])  # B=1, L=4
    emb = model.cosine_embedding(pos)[0]  # L, C
    q = 32 // 4
    omega = 10000.**(-torch.arange(q, dtype=torch.float32) / q)
    for (r, c), e in zip(pos[0].tolist(), emb):
        expected = torch.cat([torch.sin(c * omega), torch.cos(c * omega),
                              torch.sin(r * omega), torch.cos(r * omega)])
        torch.testing.assert_close(e, expected)


def test_window_tokens_equal_whole_image_tokens():
    """A window's tokens leave the backbone as they would if it were an
    image at that position: the output of a window that covers the whole
    image equals the whole-image forward, and a window keeps the absolute
    embedding of its place (same tokens as the whole image's after the
    embedding)."""
    model = _model()
    image = torch.randn(1, 3, 16, 24)
    whole_tokens, layout = model.embed(image)
    win_tokens, win_layout = model.embed(image,
                                         torch.tensor([[[8, 4, 20, 12]]]))
    whole = whole_tokens + model.cosine_embedding(layout.positions)
    win = win_tokens + model.cosine_embedding(win_layout.positions)
    grid = whole.reshape(4, 6, 32)[1:3, 2:5].reshape(-1, 32)
    torch.testing.assert_close(win[0], grid)
    with torch.no_grad():
        full = model(image)[0]
        boxed = model(image, torch.tensor([[[0, 0, 24, 16]]]))[0]
    torch.testing.assert_close(boxed, full)


def test_absolute_embedding_breaks_translation_equivariance():
    """One window of the same pixels at two places: RoPE gives the same
    features (relative offsets only), the cosine embedding does not."""
    image = torch.randn(1, 3, 16, 32)
    image[..., 16:] = image[..., :16]  # the left half repeated on the right
    left = torch.tensor([[[0, 0, 16, 16]]])
    right = torch.tensor([[[16, 0, 32, 16]]])
    outs = {}
    for kind in ('rope', 'cosine'):
        model = _model(kind)
        with torch.no_grad():
            outs[kind] = (model(image, left)[0], model(image, right)[0])
    torch.testing.assert_close(*outs['rope'], rtol=1e-4, atol=1e-5)
    assert (outs['cosine'][0] - outs['cosine'][1]).abs().max() > 1e-3


def test_temperature_applies_with_cosine():
    """The temperature correction still scales the attention logits."""
    model = _model()
    image = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        for layer in model.layers:  # sharper attention than the init's
            layer.attn.qkv.weight.mul_(20)
        before = model(image)[0]
        model.set_temperature(1.5)
        after = model(image)[0]
        model.set_temperature(1.0)
        again = model(image)[0]
    assert (before - after).abs().max() > 1e-2
    torch.testing.assert_close(again, before)


def test_errors_name_the_option():
    with pytest.raises(ValueError, match="'rope' or 'cosine'"):
        _model('learned')
    with pytest.raises(ValueError, match='divisible by 4'):
        RoPEVisionTransformer(arch=None, embed_dims=30, num_layers=1,
                              num_heads=2, pos_embed='cosine')
    with pytest.raises(ValueError, match='window_attn_size'):
        _model(window_attn_size=2)
