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


def window_token_index(windows: List[Tensor], patch_size: int, grid_width: int,
                       extra_tokens: Optional[List[Tensor]] = None
                       ) -> Tuple[Tensor, Tensor, Optional[Tensor],
                                  WindowSizes]:
    """Token indices (row-major in the full grid) of every window.

    Tokens of window k are contiguous, row-major inside the window, and the
    windows of an image follow each other in order, then its extra tokens
    (if any), in their order. Images that hold fewer tokens are padded
    (index 0) and flagged in the mask.

    Args:
        windows: ``B`` pixel boxes ``(K_b, 4)`` aligned to ``patch_size``.
        patch_size: pixels per token.
        grid_width: tokens per row of the full image grid.
        extra_tokens: None or ``B`` one-patch pixel boxes ``(M_b, 4)``.

    Returns:
        ``index (B, L)``, ``positions (B, L, 2)`` as (row, col),
        ``mask (B, L)`` (True = real token) or None when no image is padded,
        and the window sizes in tokens.
    """
    indices, sizes = [], []
    for b, boxes in enumerate(windows):
        idx, hw = [], []
        for x1, y1, x2, y2 in (boxes // patch_size).tolist():
            pos = grid_positions(y2 - y1, x2 - x1, boxes.device)  # h*w, 2
            idx.append((pos[:, 0] + y1) * grid_width + pos[:, 1] + x1)
            hw.append((y2 - y1, x2 - x1))
        if extra_tokens is not None:
            x1, y1 = (extra_tokens[b][:, :2] // patch_size).unbind(1)
            idx.append(y1 * grid_width + x1)  # M_b
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


def gather_patches(image: Tensor, boxes: Tensor, patch_size: int) -> Tensor:
    """The pixels of one-patch boxes, flattened as the patch embedding's
    input (only those pixels are read).

    Args:
        image: ``(C_in, H, W)``.
        boxes: ``(M, 4)`` pixel boxes of one patch each, aligned.
        patch_size: ``p``.

    Returns:
        ``(M, C_in * p * p)``, channel-major like ``Conv2d`` weights.
    """
    p = patch_size
    offsets = torch.arange(p, device=image.device)
    rows = boxes[:, 1, None] + offsets  # M, p
    cols = boxes[:, 0, None] + offsets  # M, p
    patches = image[:, rows[:, :, None], cols[:, None, :]]  # C_in, M, p, p
    return patches.transpose(0, 1).reshape(  # M, C_in*p*p
        len(boxes), image.shape[0] * p * p)
