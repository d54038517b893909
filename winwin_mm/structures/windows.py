"""Window boxes: the one format shared by transform, backbone and segmentor.

A window set for one image is an int64 tensor ``(K, 4)`` of pixel boxes
``(x1, y1, x2, y2)`` (x2, y2 exclusive) in the final, augmented image,
aligned to the patch grid. A batch is either a ``(B, K, 4)`` tensor or a list
of ``B`` tensors ``(K_b, 4)`` (the number of windows may differ per image).
Per-window outputs are folded into the batch: window ``k`` of image ``b`` is
row ``sum(K_0..K_{b-1}) + k`` (``b * K + k`` when K is constant).
"""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

BatchWindows = Union[Tensor, Sequence[Tensor]]


def as_window_list(windows: BatchWindows, batch_size: int,
                   device=None) -> List[Tensor]:
    """Normalise a batch of windows to a list of ``(K_b, 4)`` int64 tensors."""
    if isinstance(windows, Tensor):
        if windows.dim() == 2:
            windows = windows.unsqueeze(0).expand(batch_size, -1, -1)
        if windows.dim() != 3 or windows.shape[-1] != 4:
            raise ValueError(
                'windows must have shape (B, K, 4) as (x1, y1, x2, y2) pixel '
                f'boxes, got {tuple(windows.shape)}')
        windows = list(windows.unbind(0))
    windows = [torch.as_tensor(w, dtype=torch.long, device=device).reshape(-1, 4)
               for w in windows]
    if len(windows) != batch_size:
        raise ValueError(f'got windows for {len(windows)} images but the '
                         f'batch has {batch_size} images')
    return windows


def check_windows(boxes: Tensor, height: int, width: int, patch_size: int,
                  image_index: int = 0) -> None:
    """Raise a ValueError naming the window that is invalid.

    Args:
        boxes: ``(K, 4)`` pixel boxes of one image.
        height, width: size of the (unpadded) image in pixels.
        patch_size: every coordinate must be a multiple of this.
        image_index: index of the image in the batch, for the message.
    """
    if boxes.numel() == 0:
        raise ValueError(f'image {image_index}: got zero windows; pass '
                         'windows=None for a whole-image forward pass')
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        where = f'image {image_index}, window {k} (x1, y1, x2, y2)=' \
                f'{(x1, y1, x2, y2)}'
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f'{where}: empty box')
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            raise ValueError(f'{where}: outside the {width}x{height} image')
        if any(v % patch_size for v in (x1, y1, x2, y2)):
            raise ValueError(f'{where}: not aligned to the {patch_size}-pixel '
                             'patch grid (sample windows with RandomWindows '
                             'after the last geometric transform)')
    # Pairwise overlap test, vectorised (K may be hundreds of 1x1 windows):
    # (K, K) overlap matrix, strictly upper triangle, first pair reported.
    x1, y1, x2, y2 = boxes.unbind(-1)  # K each
    overlap = ((torch.minimum(x2[:, None], x2[None]) >
                torch.maximum(x1[:, None], x1[None])) &
               (torch.minimum(y2[:, None], y2[None]) >
                torch.maximum(y1[:, None], y1[None]))).triu(1)  # K, K
    if overlap.any():
        i, j = overlap.nonzero()[0].tolist()
        raise ValueError(f'image {image_index}: windows {i} and {j} '
                         f'overlap ({boxes[i].tolist()} vs '
                         f'{boxes[j].tolist()})')


def check_extra_tokens(extra: Tensor, windows: Tensor, height: int,
                       width: int, patch_size: int,
                       image_index: int = 0) -> None:
    """Raise a ValueError unless ``extra`` are distinct one-patch boxes,
    aligned, inside the image and outside every window.

    Args:
        extra: ``(M, 4)`` pixel boxes of one image's extra tokens.
        windows: ``(K, 4)`` pixel boxes of its windows.
        height, width: size of the (unpadded) image in pixels.
        patch_size: the side of every extra box.
        image_index: index of the image in the batch, for the message.
    """
    where = f'image {image_index}: extra tokens'
    p = patch_size
    if extra.numel() == 0:
        return
    x1, y1, x2, y2 = extra.unbind(-1)  # M each
    if ((x2 - x1 != p) | (y2 - y1 != p)).any():
        raise ValueError(f'{where} must be boxes of one {p}-pixel patch')
    if (x1 % p).any() or (y1 % p).any():
        raise ValueError(f'{where} must be aligned to the patch grid')
    if (x1 < 0).any() or (y1 < 0).any() or (x2 > width).any() or \
            (y2 > height).any():
        raise ValueError(f'{where} must lie inside the {width}x{height} '
                         'image')
    if len(torch.unique(extra[:, :2], dim=0)) != len(extra):
        raise ValueError(f'{where} must be distinct')
    inside = ((x1[:, None] >= windows[None, :, 0]) &
              (x2[:, None] <= windows[None, :, 2]) &
              (y1[:, None] >= windows[None, :, 1]) &
              (y2[:, None] <= windows[None, :, 3]))  # M, K
    if inside.any():
        m, k = inside.nonzero()[0].tolist()
        raise ValueError(f'{where}: token {extra[m].tolist()} lies in '
                         f'window {k} {windows[k].tolist()}')


def max_window_size(windows: List[Tensor]) -> Tuple[int, int]:
    """Largest ``(height, width)`` in pixels over all windows of a batch."""
    allw = torch.cat(windows)
    return (int((allw[:, 3] - allw[:, 1]).max()),
            int((allw[:, 2] - allw[:, 0]).max()))


def crop_windows(maps: Union[Tensor, Sequence[Tensor]],
                 windows: List[Tensor], scale: int = 1,
                 pad_value: float = 0) -> Tensor:
    """Crop every window out of a batch of maps, folded into the batch.

    Windows of different sizes are padded right/bottom with ``pad_value`` to
    the largest window (e.g. 255 = ignore for labels), so that one tensor
    carries them all.

    Args:
        maps: ``(B, C, H, W)`` images or label maps, or a list of ``B``
            ``(C, H, W)`` maps (no full-size batch tensor is built).
        windows: list of ``B`` pixel boxes ``(K_b, 4)``.
        scale: stride of ``maps`` w.r.t. the pixel grid of the boxes
            (16 to crop token grids with pixel boxes of a /16 map).
        pad_value: fill value for the padding of smaller windows.

    Returns:
        ``(sum_b K_b, C, h_max, w_max)``.
    """
    hmax, wmax = max_window_size(windows)
    hmax, wmax = hmax // scale, wmax // scale
    crops = []
    for b, boxes in enumerate(windows):
        for x1, y1, x2, y2 in (boxes // scale).tolist():
            crop = maps[b][:, y1:y2, x1:x2]  # C, h, w
            crops.append(F.pad(crop, (0, wmax - crop.shape[-1], 0,
                                      hmax - crop.shape[-2]), value=pad_value))
    return torch.stack(crops)  # B*K, C, h_max, w_max
