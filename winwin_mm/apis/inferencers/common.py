"""Pieces shared by the Win-Win inferencers: loading a model, reading an
image, bf16 autocast and file naming."""
import os.path as osp
from contextlib import nullcontext
from typing import Optional, Union

import mmcv
import numpy as np
import torch
import torch.nn as nn

from ..inference import init_model
from .memory import check_memory

ImageLike = Union[str, np.ndarray]


def read_image(img: ImageLike) -> np.ndarray:
    """``H x W x 3`` uint8 BGR from a file name or an array.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file cannot be decoded or the array is not
            ``H x W x 3``.
    """
    if isinstance(img, str):
        if not osp.isfile(img):
            raise FileNotFoundError(f'no such image file: {img}')
        out = mmcv.imread(img, channel_order='bgr')
        if out is None:
            raise ValueError(f'cannot decode the image file {img}')
        return out
    out = np.asarray(img)
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f'expected an H x W x 3 image, got {out.shape}')
    return out


def build_model(model, weights: Optional[str], device: str) -> nn.Module:
    """An already built ``nn.Module`` as it is (moved to ``device``, eval
    mode), or :func:`init_model` on a config (strict checkpoint load)."""
    if isinstance(model, nn.Module):
        return model.to(device).eval()
    return init_model(model, weights, device=device)


def autocast(bf16: bool, device: str):
    """``torch.autocast`` to bfloat16 on ``device``'s type when ``bf16``."""
    if not bf16:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def stem(name: Optional[str], index: int) -> str:
    """Output file stem: the input file's name without extension, or the
    input's index for arrays (``00000012``)."""
    if isinstance(name, str):
        return osp.splitext(osp.basename(name))[0]
    return f'{index:08d}'


def test_step(model: nn.Module, data: dict, bf16: bool, device: str,
              memory_limit: Optional[int] = None) -> list:
    """``model.test_step`` under ``no_grad`` (and bf16 autocast), after
    checking that the device can hold the largest input (``memory_limit``
    bytes, default: its free memory). mmseg's preprocessors need one size
    per batch, so a batch of mixed sizes runs one sample at a time."""
    inputs, samples = data['inputs'], data['data_samples']
    sizes = {tuple(x.shape[-2:]) for x in inputs}
    H, W = max(s[0] for s in sizes), max(s[1] for s in sizes)
    check_memory(model, H, W, len(inputs) if len(sizes) == 1 else 1, bf16,
                 device, memory_limit)
    with torch.no_grad(), autocast(bf16, device):
        if len(sizes) <= 1:
            return model.test_step(data)
        out = []
        for x, s in zip(inputs, samples):
            out.extend(model.test_step(dict(inputs=[x], data_samples=[s])))
        return out
