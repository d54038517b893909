"""ViTDet-style window attention for the RoPE ViT (Li et al., 2022; the
paper's 'Full-res. ViT-Det' baseline, Table 2 / Fig. 1).

Windowed blocks cut each token grid into non-overlapping squares of
``window`` tokens and attend inside each square only; a few global blocks
attend over everything. As in ViTDet the grid is padded right/bottom with
zero tokens (after the block's first norm) to a multiple of the window, and
there is no mask: the padded tokens are keys like the others, so every
window has the same size and attention takes the unmasked SDPA kernels.
Padded tokens get the positions that extend the grid (RoPE needs one); real
tokens keep their true (row, col).

One deviation from ViTDet: on an axis shorter than the window the window
shrinks to the axis (no padding up to 14 for a grid of 8), so a window that
covers the whole grid is exactly global attention.

A "grid" is the whole image (``TokenLayout.whole``) or one Win-Win window:
with Win-Win windows every window of the batch is partitioned on its own
(window attention inside each Win-Win window, global blocks across them);
this needs windows of one size and count in the batch.
"""
from dataclasses import dataclass
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...structures.tokens import TokenLayout
from .rope import rope_2d_tables
from .window_tokens import grid_positions

RopeTables = Tuple[Tensor, Tensor]


def default_global_indexes(num_layers: int, num_global: int = 4
                           ) -> Tuple[int, ...]:
    """ViTDet's evenly spaced global blocks: the last of each quarter
    (12 blocks -> 2, 5, 8, 11; 24 -> 5, 11, 17, 23)."""
    return tuple(sorted({max((i + 1) * num_layers // num_global - 1, 0)
                         for i in range(num_global)}))


def window_partition(x: Tensor, window: Tuple[int, int]
                     ) -> Tuple[Tensor, Tuple[int, int]]:
    """Cut grids into windows, padding with zeros to a multiple of them.

    Args:
        x: ``(N, h, w, C)`` token grids.
        window: ``(wh, ww)`` window size in tokens.

    Returns:
        ``(N * nh * nw, wh * ww, C)`` windows (row-major windows of grid 0,
        then grid 1, ...; row-major tokens inside) and the padded ``(hp,
        wp)``.
    """
    N, h, w, C = x.shape
    wh, ww = window
    x = F.pad(x, (0, 0, 0, -w % ww, 0, -h % wh))  # N, hp, wp, C
    hp, wp = x.shape[1:3]
    x = x.view(N, hp // wh, wh, wp // ww, ww, C)  # N, nh, wh, nw, ww, C
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, C)
    return x, (hp, wp)


def window_unpartition(x: Tensor, window: Tuple[int, int],
                       padded: Tuple[int, int], size: Tuple[int, int]
                       ) -> Tensor:
    """Inverse of :func:`window_partition`, padding cropped.

    Args:
        x: ``(N * nh * nw, wh * ww, C)`` windows.
        window: ``(wh, ww)``.
        padded: ``(hp, wp)`` from :func:`window_partition`.
        size: ``(h, w)`` of the grids before padding.

    Returns:
        ``(N, h, w, C)``.
    """
    (wh, ww), (hp, wp), (h, w) = window, padded, size
    C = x.shape[-1]
    x = x.view(-1, hp // wh, wp // ww, wh, ww, C)  # N, nh, nw, wh, ww, C
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, C)
    return x[:, :h, :w]  # N, h, w, C


@dataclass
class WindowAttentionPlan:
    """How the windowed blocks of one forward regroup ``(B, L, C)`` tokens.

    Built once per forward by :func:`plan_window_attention`, handed to every
    windowed block, as the RoPE tables are.

    Attributes:
        grid: ``(h, w)`` tokens of each grid (image or Win-Win window).
        window: ``(wh, ww)`` attention window.
        padded: ``(hp, wp)`` grid padded to a multiple of the window.
        rope: tables of the windows' tokens, ``(N * nh * nw, 1, wh * ww,
            D)`` each.
    """
    grid: Tuple[int, int]
    window: Tuple[int, int]
    padded: Tuple[int, int]
    rope: RopeTables

    def partition(self, x: Tensor) -> Tensor:
        """``(B, K * h * w, C)`` -> ``(B * K * nh * nw, wh * ww, C)``."""
        h, w = self.grid
        grids = x.reshape(-1, h, w, x.shape[-1])  # B*K, h, w, C
        return window_partition(grids, self.window)[0]

    def unpartition(self, x: Tensor, batch: int) -> Tensor:
        """``(B * K * nh * nw, wh * ww, C)`` -> ``(B, K * h * w, C)``."""
        grids = window_unpartition(x, self.window, self.padded, self.grid)
        return grids.reshape(batch, -1, x.shape[-1])  # B, K*h*w, C


def plan_window_attention(layout: TokenLayout, window: int, head_dim: int,
                          rope_base: float, dtype: torch.dtype = torch.float32
                          ) -> WindowAttentionPlan:
    """The window plan and RoPE tables of a batch's token layout.

    Args:
        layout: the backbone's token layout (whole images, or Win-Win
            windows of one size and count in the batch).
        window: window side in tokens (ViTDet: 14).
        head_dim: channels per head.
        rope_base: RoPE frequency base.
        dtype: dtype of the tables (the activations').

    Raises:
        ValueError: Win-Win windows of different sizes or counts.
    """
    shapes = {tuple(hw) for hws in layout.sizes for hw in hws}
    counts = {len(hws) for hws in layout.sizes}
    if len(shapes) != 1 or len(counts) != 1 or layout.mask is not None:
        raise ValueError(
            'window attention (window_attn_size) partitions each Win-Win '
            'window on its own and needs windows of one size and count in '
            f'the batch; got sizes {sorted(shapes)} and counts '
            f'{sorted(counts)}')
    h, w = shapes.pop()
    wsize = (min(window, h), min(window, w))
    # Positions of each padded grid: its first token + the local offsets,
    # which extend the true positions into the padding.
    origin = layout.positions.reshape(-1, h * w, 2)[:, 0]  # N, 2
    hp, wp = h + -h % wsize[0], w + -w % wsize[1]
    local = grid_positions(hp, wp, origin.device).view(1, hp, wp, 2)
    pos = origin.view(-1, 1, 1, 2) + local  # N, hp, wp, 2
    pos, _ = window_partition(pos, wsize)  # N*nh*nw, wh*ww, 2
    cos, sin = rope_2d_tables(pos, head_dim, rope_base)
    return WindowAttentionPlan((h, w), wsize, (hp, wp),
                               (cos.to(dtype), sin.to(dtype)))


def check_global_indexes(indexes: Sequence[int], num_layers: int
                         ) -> Tuple[int, ...]:
    """Normalise (negative = from the end) and validate block indexes."""
    out = []
    for i in indexes:
        if not -num_layers <= i < num_layers:
            raise ValueError(f'global_attn_indexes: block {i} does not '
                             f'exist in a {num_layers}-block model')
        out.append(i % num_layers)
    return tuple(sorted(set(out)))
