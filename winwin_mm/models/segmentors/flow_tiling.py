"""CroCo-Flow's tiling baseline: overlapping tiles merged with weights from
the predicted confidence. Pure tensor functions."""
import math
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

Box = Tuple[int, int, int, int]  # (y1, x1, y2, x2) pixels, exclusive ends


def tile_offsets(size: int, tile: int, overlap: float) -> List[int]:
    """Start offsets along one axis: ``n = 1 + ceil((T - w) / ((1 -
    overlap) w))`` tiles spread evenly from 0 to ``T - w`` (rounded), as
    CroCo's ``tiled_pred``. A tile at least as large as the axis gives one
    tile at 0."""
    if not 0 <= overlap < 1:
        raise ValueError(f'overlap must be in [0, 1), got {overlap}')
    if tile >= size:
        return [0]
    n = 1 + math.ceil((size - tile) / ((1 - overlap) * tile))
    return [int(v) for v in np.round(np.linspace(0, size - tile, n))]


def tile_boxes(height: int, width: int, crop_size: Sequence[int],
               overlap: float) -> List[Box]:
    """Every tile of an ``height x width`` image, row-major.

    Args:
        crop_size: ``(h, w)`` of a tile (clipped to the image).
        overlap: fraction of a tile shared with its neighbour.
    """
    th, tw = min(crop_size[0], height), min(crop_size[1], width)
    return [(y, x, y + th, x + tw)
            for y in tile_offsets(height, th, overlap)
            for x in tile_offsets(width, tw, overlap)]


def confidence_weights(conf: Tensor, beta: float = 10.,
                       beta_s: float = 5.) -> Tensor:
    """``w = exp(-2 beta (sigmoid(c / beta_s) - 0.5))``: the raw confidence
    channel ``c`` is larger where the Laplacian scale is larger (less
    certain), so such pixels weigh less (CroCo's ``conf_expsigmoid_10_5``)."""
    return torch.exp(-2 * beta * (torch.sigmoid(conf / beta_s) - 0.5))


def tiled_flow(predict: Callable[[Tensor], Tensor], pairs: Tensor,
               crop_size: Sequence[int], overlap: float = 0.9,
               beta: float = 10., beta_s: float = 5.,
               tiles_per_batch: int = 8) -> Tuple[Tensor, int]:
    """Predict every tile and merge: ``sum w p / (sum w + 1e-16)``.

    Args:
        predict: ``(n, 6, h, w) -> (n, 3, h, w)`` raw head output of tiles
            (u, v, c).
        pairs: ``(B, 6, H, W)`` normalised image pairs.
        crop_size: tile size ``(h, w)`` (the training crop).
        overlap: tile overlap (CroCo: 0.7 default, 0.9 for submissions).
        beta, beta_s: the weight function's constants.
        tiles_per_batch: tiles of one image per forward call (memory).

    Returns:
        ``(B, 3, H, W)`` merged (u, v, c) — ``c`` merged with the same
        weights — and the number of tile forward passes per image.
    """
    B, _, H, W = pairs.shape
    boxes = tile_boxes(H, W, crop_size, overlap)
    acc = pairs.new_zeros(B, 3, H, W)  # sum w*(u, v, c)
    wsum = pairs.new_zeros(B, 1, H, W)
    for start in range(0, len(boxes), tiles_per_batch):
        chunk = boxes[start:start + tiles_per_batch]
        tiles = torch.cat([pairs[..., y1:y2, x1:x2]
                           for y1, x1, y2, x2 in chunk])  # n*B, 6, th, tw
        out = predict(tiles)  # n*B, 3, th, tw
        w = confidence_weights(out[:, 2:3], beta, beta_s)  # n*B, 1, th, tw
        for i, (y1, x1, y2, x2) in enumerate(chunk):
            rows = slice(i * B, (i + 1) * B)
            acc[..., y1:y2, x1:x2] += w[rows] * out[rows]
            wsum[..., y1:y2, x1:x2] += w[rows]
    return acc / (wsum + 1e-16), len(boxes)


def resized_flow(predict: Callable[[Tensor], Tensor], pairs: Tensor,
                 size: Sequence[int]) -> Tensor:
    """The *resize* test mode (paper Table 4 right): resize the pairs to
    the training size, predict, resize the output back and scale the flow
    vectors by the size ratios (u by ``W / w``, v by ``H / h``).

    Args:
        predict: ``(n, 6, h, w) -> (n, 3, h, w)`` raw head output (u, v, c).
        pairs: ``(B, 6, H, W)`` normalised image pairs.
        size: ``(h, w)`` the network sees (the training crop).

    Returns:
        ``(B, 3, H, W)`` (u, v, c) at the input size.
    """
    H, W = pairs.shape[-2:]
    h, w = int(size[0]), int(size[1])
    small = torch.nn.functional.interpolate(
        pairs, (h, w), mode='bilinear', align_corners=False)
    out = predict(small)  # B, 3, h, w
    out = torch.nn.functional.interpolate(
        out, (H, W), mode='bilinear', align_corners=False)
    scale = out.new_tensor([W / w, H / h, 1.]).view(1, 3, 1, 1)
    return out * scale
