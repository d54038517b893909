"""Token sequences of windows and the layout that maps them back to maps.

A backbone's token-level output is ``(B, L, C)`` tokens plus a
:class:`TokenLayout`: each token's true ``(row, col)`` in the full image
grid, which tokens are padding, and the windows' sizes. Decoders consume the
tokens and their positions (RoPE on both sides of a cross-attention); heads
consume the per-window maps from :meth:`TokenLayout.to_maps`.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

WindowSizes = List[List[Tuple[int, int]]]  # per image, per window: (h, w)


@dataclass
class TokenLayout:
    """Where the ``L`` tokens of each image come from.

    Attributes:
        positions: ``(B, L, 2)`` int64 (row, col) in the full token grid.
        mask: ``(B, L)`` bool, True = real token; None when no image is
            padded (every image has the same token count).
        sizes: per image, per window, ``(h, w)`` in tokens; the tokens of
            window k follow those of window k-1, row-major inside it.
        whole: one window per image covering the whole (padded) grid.
        extra: per image, the number of isolated extra tokens that follow
            its windows' tokens (they take part in attention but have no
            map: :meth:`to_maps` drops them); None = none.
    """
    positions: Tensor
    mask: Optional[Tensor]
    sizes: WindowSizes
    whole: bool = False
    extra: Optional[List[int]] = None

    def __len__(self) -> int:
        return len(self.sizes)

    def select(self, start: int, stop: int) -> 'TokenLayout':
        """The layout of images ``start:stop`` (e.g. one frame of a pair),
        with padding recomputed for them."""
        sizes = self.sizes[start:stop]
        extra = None if self.extra is None else self.extra[start:stop]
        lengths = [sum(h * w for h, w in hw) + (extra[i] if extra else 0)
                   for i, hw in enumerate(sizes)]
        L = max(lengths)
        positions = self.positions[start:stop, :L]
        mask = None
        if min(lengths) != L:
            mask = torch.stack([torch.arange(L, device=positions.device) < n
                                for n in lengths])  # B', L
        return TokenLayout(positions, mask, sizes, self.whole, extra)

    def to_maps(self, tokens: Tensor) -> Tensor:
        """Per-window maps folded into the batch.

        Args:
            tokens: ``(B, L', C)`` with ``L' >= `` the real token count of
                every image (extra tokens are padding).

        Returns:
            ``(sum_b K_b, C, h_max, w_max)``; window k of image b is row
            ``sum(K_0..K_{b-1}) + k``; smaller windows are zero-padded
            right/bottom. Whole image: ``(B, C, h, w)``. Extra tokens
            (after the windows' tokens) are dropped.
        """
        if self.whole:
            h, w = self.sizes[0][0]
            B, _, C = tokens.shape
            return tokens[:, :h * w].transpose(1, 2).reshape(B, C, h, w)
        hmax = max(h for hw in self.sizes for h, _ in hw)
        wmax = max(w for hw in self.sizes for _, w in hw)
        maps = []
        for b, hw in enumerate(self.sizes):
            start = 0
            for h, w in hw:
                m = tokens[b, start:start + h * w].transpose(0, 1)  # C, h*w
                m = m.reshape(-1, h, w)  # C, h, w
                maps.append(torch.nn.functional.pad(
                    m, (0, wmax - w, 0, hmax - h)))
                start += h * w
        return torch.stack(maps)  # B*K, C, h_max, w_max
