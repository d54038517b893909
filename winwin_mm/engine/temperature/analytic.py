"""Analytic first guess of the temperature multiplier from token counts.

With N keys of similar logits the softmax spreads its mass over N tokens;
scaling the logits by ``log(N_test) / log(N_train)`` keeps the attention
entropy of a query about what it was in training (the log-n scaling of
length-extrapolation work). Win-Win: 2 x 22 x 22 = 968 training tokens,
80 x 45 = 3600 test tokens at 1280x720 -> 1.19. It costs no forward pass; the
hook and the tool report how far it lands from the measured optimum.
"""
import math
from typing import Iterable, Optional

import torch


def analytic_temperature(num_train_tokens: float,
                         num_test_tokens: float) -> float:
    """``log(N_test) / log(N_train)``.

    Args:
        num_train_tokens: tokens per image seen in training (all windows).
        num_test_tokens: tokens per image at test (the whole image).
    """
    if num_train_tokens <= 1 or num_test_tokens <= 1:
        raise ValueError('token counts must be > 1, got '
                         f'{num_train_tokens}, {num_test_tokens}')
    return math.log(num_test_tokens) / math.log(num_train_tokens)


def image_tokens(height: int, width: int, patch_size: int) -> int:
    """Tokens of a whole ``height x width`` image (padded to the patch)."""
    return math.ceil(height / patch_size) * math.ceil(width / patch_size)


def window_tokens(windows, patch_size: int) -> int:
    """Tokens inside pixel boxes ``(K, 4)`` as ``(x1, y1, x2, y2)``."""
    boxes = torch.as_tensor(windows, dtype=torch.long).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # K
    return int(area.sum()) // (patch_size * patch_size)


def mean_train_tokens(data_samples: Iterable,
                      patch_size: int) -> Optional[float]:
    """Mean tokens per training image from ``metainfo['windows']``; None
    when the samples have no windows (training was on whole images).

    Args:
        data_samples: training data samples (e.g. of the last batch).
        patch_size: backbone patch size in pixels.
    """
    counts = [window_tokens(ds.metainfo['windows'], patch_size)
              for ds in data_samples if 'windows' in ds.metainfo]
    return sum(counts) / len(counts) if counts else None


def analytic_from_data(train_samples: Iterable, test_image_shape,
                       patch_size: Optional[int]) -> Optional[float]:
    """:func:`analytic_temperature` from training data samples (their
    windows) and one full-resolution image shape ``(..., H, W)``; None when
    either count is unknown (no windows, no patch size).

    Args:
        train_samples: training data samples with ``metainfo['windows']``.
        test_image_shape: shape of a whole test image, ``(..., H, W)``.
        patch_size: backbone patch size in pixels.
    """
    if not patch_size:
        return None
    n_train = mean_train_tokens(train_samples, patch_size)
    n_test = image_tokens(*tuple(test_image_shape)[-2:], patch_size)
    if n_train is None or n_train <= 1 or n_test <= 1:
        return None
    return analytic_temperature(n_train, n_test)
