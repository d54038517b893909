"""Gather the tokens of pixel windows into one sequence per image (the
inverse, sequence -> per-window maps, is ``TokenLayout.to_maps``).

Pure tensor functions; the window box format is the one documented in
``winwin_mm/structures/windows.py``.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...structures.tokens import WindowSizes


def grid_positions(height: int, width: int, device=None) -> Tensor:
    """Row-major ``(height * width, 2)`` (row, col) positions of a grid."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device),
                            torch.arange(width, device=device), indexing='ij')
    return torch.stack([ys.flatten(), xs.flatten()], dim=-1)


def window_token_index(windows: List[Tensor], patch_size: int, grid_width: int
                       ) -> Tuple[Tensor, Tensor, Optional[Tensor],
                                  WindowSizes]:
    """Token indices (row-major in the full grid) of every window.

    Tokens of window k are contiguous, row-major inside the window, and the
    windows of an image follow each other in order. Images whose windows hold
    fewer tokens are padded (index 0) and flagged in the mask.

    Args:
        windows: ``B`` pixel boxes ``(K_b, 4)`` aligned to ``patch_size``.
        patch_size: pixels per token.
        grid_width: tokens per row of the full image grid.

    Returns:
        ``index (B, L)``, ``positions (B, L, 2)`` as (row, col),
        ``mask (B, L)`` (True = real token) or None when no image is padded,
        and the window sizes in tokens.
    """
    indices, sizes = [], []
    for boxes in windows:
        idx, hw = [], []
        for x1, y1, x2, y2 in (boxes // patch_size).tolist():
            pos = grid_positions(y2 - y1, x2 - x1, boxes.device)  # h*w, 2
            idx.append((pos[:, 0] + y1) * grid_width + pos[:, 1] + x1)
            hw.append((y2 - y1, x2 - x1))
        indices.append(torch.cat(idx))
        sizes.append(hw)
    lengths = [len(i) for i in indices]
    L = max(lengths)
    mask = None
    if min(lengths) != L:
        mask = torch.stack([torch.arange(L, device=windows[0].device) < n
                            for n in lengths])  # B, L
    index = torch.stack([F.pad(i, (0, L - len(i))) for i in indices])  # B, L
    positions = torch.stack([index // grid_width, index % grid_width], -1)
    return index, positions, mask, sizes
