"""RoPE-2D: CroCo's channel layout and relative-position invariance."""
import math

import torch

from winwin_mm.models.layers import apply_rope_2d, rope_2d_tables


def _reference_rope(x, pos, base=100.):
    """Scalar-by-scalar transcription of CroCo's RoPE layout as documented
    in winwin_mm/models/layers/rope.py (slow, obvious)."""
    B, H, N, D = x.shape
    d = D // 2
    out = torch.empty_like(x)
    for axis in range(2):  # 0: y -> first half, 1: x -> second half
        for i in range(d // 2):
            inv = 1.0 / base ** (2 * i / d)
            for n in range(N):
                ang = float(pos[0, n, axis]) * inv
                c, s = math.cos(ang), math.sin(ang)
                u = x[..., n, axis * d + i]
                v = x[..., n, axis * d + i + d // 2]
                out[..., n, axis * d + i] = u * c - v * s
                out[..., n, axis * d + i + d // 2] = v * c + u * s
    return out


def test_layout_matches_design_formula():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 5, 16)
    pos = torch.tensor([[[0, 0], [0, 3], [2, 1], [7, 4], [3, 9]]])
    cos, sin = rope_2d_tables(pos, 16)
    torch.testing.assert_close(apply_rope_2d(x, cos, sin),
                               _reference_rope(x, pos), atol=1e-6, rtol=0)


def test_y_half_ignores_x_positions():
    x = torch.randn(1, 1, 1, 16)
    a = apply_rope_2d(x, *rope_2d_tables(torch.tensor([[[3, 0]]]), 16))
    b = apply_rope_2d(x, *rope_2d_tables(torch.tensor([[[3, 5]]]), 16))
    torch.testing.assert_close(a[..., :8], b[..., :8])
    assert not torch.allclose(a[..., 8:], b[..., 8:])


def test_logits_invariant_to_a_common_shift():
    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 6, 32), torch.randn(2, 3, 6, 32)
    pos = torch.randint(0, 20, (2, 6, 2))

    def logits(p):
        cos, sin = rope_2d_tables(p, 32)
        return apply_rope_2d(q, cos, sin) @ apply_rope_2d(k, cos,
                                                          sin).transpose(-1, -2)

    base = logits(pos)
    shifted = logits(pos + torch.tensor([13, -4]))
    torch.testing.assert_close(base, shifted, atol=1e-4, rtol=1e-4)
    # ...but not to a change of the relative offsets.
    moved = pos.clone()
    moved[:, 0] += 5
    assert not torch.allclose(base, logits(moved), atol=1e-3)


def test_one_key_gives_its_value_unrotated():
    """RoPE rotates queries and keys only: with one key (softmax weight 1)
    every query's output is that key's value as it is."""
    from winwin_mm.models.layers.attention import rope_attention
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 3, 16) for _ in range(3))
    k, v = k[:, :, :1], v[:, :, :1]  # one key: softmax weight 1
    pos_q = torch.tensor([[[0, 0], [2, 5], [7, 1]]])
    pos_k = torch.tensor([[[4, 3]]])
    out = rope_attention(q, k, v, rope_2d_tables(pos_q, 16),
                         rope_2d_tables(pos_k, 16), torch.ones(2),
                         16 ** -0.5)
    torch.testing.assert_close(out, v.expand(-1, -1, 3, -1))
