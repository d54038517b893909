"""2-D rotary position embedding (RoPE) with CroCo's layout.

Per head of dimension D: channels ``[0, D/2)`` rotate with the row (y)
position, channels ``[D/2, D)`` with the column (x) position. Within each half
(size d = D/2) channel ``i`` is paired with ``i + d/2`` ("split-half"), with
inverse frequency ``inv_j = base ** (-2j / d)`` for ``j < d/2``:
``out_i = u cos - v sin``, ``out_{i+d/2} = v cos + u sin``.
Keeping this exact layout is what lets CroCo / CroCo v2 weights load.
"""
from typing import Tuple

import torch
from torch import Tensor


def activation_dtype(x: Tensor) -> torch.dtype:
    """The dtype matmuls produce for ``x``: autocast's when it is on for
    ``x``'s device, else ``x.dtype``."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def rope_2d_tables(positions: Tensor, head_dim: int, base: float = 100.0,
                   dtype: torch.dtype = torch.float32
                   ) -> Tuple[Tensor, Tensor]:
    """Cos/sin tables for 2-D RoPE, computed once per forward.

    Args:
        positions: ``(B, N, 2)`` integer (row, col) token positions.
        head_dim: channels per head D, divisible by 4.
        base: frequency base (CroCo: 100).
        dtype: dtype of the tables: the activations' (``activation_dtype``),
            so that under AMP the rotation runs in bf16/fp16 without a
            float32 copy of q and k in every block.

    Returns:
        ``(cos, sin)``, each ``(B, 1, N, D)``, broadcastable over heads;
        computed in float32, then cast.
    """
    if head_dim % 4:
        raise ValueError(f'2-D RoPE needs a head dimension divisible by 4, '
                         f'got {head_dim}')
    d = head_dim // 2
    inv_freq = base ** (-torch.arange(0, d, 2, device=positions.device,
                                      dtype=torch.float32) / d)  # d/2
    angles = positions.float().unsqueeze(-1) * inv_freq  # B, N, 2, d/2
    # Split-half pairing: the same angle drives channel i and i + d/2.
    angles = torch.cat([angles, angles], dim=-1)  # B, N, 2, d
    angles = angles.flatten(2)  # B, N, D: [y half | x half]
    return (angles.cos().unsqueeze(1).to(dtype),
            angles.sin().unsqueeze(1).to(dtype))


def _rotate_half(x: Tensor) -> Tensor:
    """``(u, v) -> (-v, u)`` within each half of the head dim."""
    x = x.unflatten(-1, (2, 2, -1))  # ..., {y,x}, {u,v}, d/2
    u, v = x.unbind(-2)
    return torch.stack((-v, u), dim=-2).flatten(-3)


def apply_rope_2d(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate queries or keys ``(B, H, N, D)`` by the tables of
    :func:`rope_2d_tables`; computed in the wider of the two dtypes
    (float32 tables keep full precision for bf16 inputs; tables in the
    activation dtype avoid the float32 copies), returned in ``x.dtype``."""
    out = x * cos + _rotate_half(x) * sin
    return out.to(x.dtype)
