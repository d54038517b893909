"""ViTDet-style window attention in RoPEVisionTransformer."""
import pytest
import torch

from winwin_mm.models.backbones import RoPEVisionTransformer
from winwin_mm.models.layers import window_partition, window_unpartition
from winwin_mm.models.layers.window_attention import default_global_indexes


def _model(**kwargs):
    torch.manual_seed(0)
    model = RoPEVisionTransformer(arch=None, embed_dims=32, num_layers=4,
                                  num_heads=2, patch_size=8, **kwargs)
    model.init_weights()
    return model.eval()


def test_default_global_blocks_are_vitdets():
    assert default_global_indexes(12) == (2, 5, 8, 11)
    assert default_global_indexes(24) == (5, 11, 17, 23)
    assert _model(window_attn_size=3).global_attn_indexes == (0, 1, 2, 3)
    assert _model(window_attn_size=3,
                  global_attn_indexes=[-1]).global_attn_indexes == (3, )
    with pytest.raises(ValueError, match='needs window_attn_size'):
        _model(global_attn_indexes=[1])
    with pytest.raises(ValueError, match='does not exist'):
        _model(window_attn_size=3, global_attn_indexes=[4])


def test_partition_round_trip_pads_with_zeros():
    x = torch.randn(2, 5, 7, 3)
    wins, padded = window_partition(x, (2, 3))
    assert padded == (6, 9) and wins.shape == (2 * 3 * 3, 6, 3)
    # Window 0 of grid 0 holds rows 0-1, cols 0-2, row-major.
    torch.testing.assert_close(wins[0], x[0, :2, :3].reshape(6, 3))
    # The last window of grid 0 holds row 4 + one padded row of zeros.
    assert (wins[8, 3:] == 0).all()
    torch.testing.assert_close(window_unpartition(wins, (2, 3), padded,
                                                  (5, 7)), x)


def test_window_covering_the_grid_is_full_attention():
    # 6x8 tokens: a window of 8 covers the grid (it shrinks to 6 rows).
    img = torch.randn(2, 3, 48, 64)
    full = _model(out_indices=(0, 1, 2, 3))
    vitdet = _model(out_indices=(0, 1, 2, 3), window_attn_size=8,
                    global_attn_indexes=[3])
    with torch.no_grad():
        for a, b in zip(full(img), vitdet(img)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_winwin_windows_are_partitioned_one_by_one():
    # Every block windowed with windows covering each 2x3-token Win-Win
    # window: each window is then processed alone, at its true position.
    img = torch.randn(1, 3, 48, 64)
    boxes = torch.tensor([[[0, 0, 24, 16], [32, 16, 56, 32]]])
    full = _model()
    vitdet = _model(window_attn_size=8, global_attn_indexes=[])
    with torch.no_grad():
        out = vitdet(img, boxes)[-1]  # 2, C, 2, 3
        for k in range(2):
            alone = full(img, boxes[:, k:k + 1])[-1]
            torch.testing.assert_close(out[k:k + 1], alone, atol=1e-5,
                                       rtol=0)
        assert not torch.allclose(full(img, boxes)[-1], out, atol=1e-3)


def test_smaller_windows_change_the_result_and_padding_is_vitdets():
    img = torch.randn(1, 3, 40, 56)  # 5x7 tokens, padded to 6x9 for 3
    full = _model(out_indices=(0, ))
    vitdet = _model(out_indices=(0, ), window_attn_size=3,
                    global_attn_indexes=[3])
    with torch.no_grad():
        a, b = full(img)[0], vitdet(img)[0]
        assert a.shape == b.shape == (1, 32, 5, 7)
        assert not torch.allclose(a, b, atol=1e-3)
        # Block 0 is windowed: a token only sees its own window, so changing
        # the image outside the window (3x3 tokens) leaves it unchanged...
        img2 = img.clone()
        img2[..., 24:, :] += 1  # token rows 3.. (the next window row)
        torch.testing.assert_close(vitdet(img2)[0][..., :3, :],
                                   b[..., :3, :], atol=1e-5, rtol=0)
        # ...whereas global attention sees it.
        assert not torch.allclose(full(img2)[0][..., :3, :], a[..., :3, :],
                                  atol=1e-4)


def test_gradients_reach_every_parameter():
    model = _model(out_indices=(1, 3), window_attn_size=3,
                   global_attn_indexes=[1, 3], drop_path_rate=0.1).train()
    img = torch.randn(2, 3, 40, 56)
    boxes = torch.tensor([[[0, 0, 32, 32], [40, 0, 56, 16]]] * 2)
    for windows in (None, boxes[:, :1]):
        model.zero_grad()
        loss = sum(o.square().mean() for o in model(img, windows))
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, name


def test_checkpointing_matches_and_unequal_windows_are_refused():
    model = _model(window_attn_size=3)
    img = torch.randn(1, 3, 40, 56, requires_grad=True)
    ref = model(img)[-1]
    model.with_cp = True
    torch.testing.assert_close(model(img)[-1], ref)
    with pytest.raises(ValueError, match='one size and count'):
        model(img, torch.tensor([[[0, 0, 16, 16], [24, 0, 48, 16]]]))
