"""Estimate a one-pass forward's activation memory and refuse sizes the
device cannot hold, before running (an out-of-memory kill loses all work).

Written here rather than taken from tools/analysis_tools/benchmark/ because
the package must not import tools/.
"""
import math
import os
from typing import Optional

import torch
import torch.nn as nn


class InferenceMemoryError(MemoryError):
    """The input size needs more memory than the device has."""


def estimate_bytes(model: nn.Module, height: int, width: int,
                   batch: int = 1, bf16: bool = False) -> int:
    """Rough peak activation memory of one forward pass at ``height`` x
    ``width``: per image stream (two for flow), the largest transformer's
    attention scores ``heads * N^2`` (CPU attention materialises them) plus
    ``16 * N * D`` token activations (q, k, v, MLP hidden, residuals), with
    ``N`` the number of patch tokens after padding; 2 bytes per value in
    bf16, 4 in fp32. An estimate, not a bound: it ignores weights and the
    head's full-resolution output (small next to N^2 at high resolution).
    """
    backbone = getattr(model, 'backbone', model)
    p = getattr(backbone, 'patch_size', 16)
    p = p[0] if isinstance(p, (tuple, list)) else p
    n = math.ceil(height / p) * math.ceil(width / p)
    streams = 2 if hasattr(model, 'matching') or hasattr(
        model, 'decoder') else 1
    per = 0
    for m in (backbone, getattr(model, 'decoder', None)):
        if m is None or not hasattr(m, 'embed_dims'):
            continue
        heads = getattr(m, 'num_heads', 1)
        per = max(per, heads * n * n + 16 * n * m.embed_dims)
    return int(batch * streams * per * (2 if bf16 else 4))


def available_bytes(device: str) -> int:
    """Free memory of ``device``: ``torch.cuda.mem_get_info`` on CUDA,
    ``MemAvailable`` of /proc/meminfo on the CPU (free pages from
    ``os.sysconf`` where there is no /proc: no extra dependency)."""
    dev = torch.device(device)
    if dev.type == 'cuda':
        return torch.cuda.mem_get_info(dev)[0]
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')


def check_memory(model: nn.Module, height: int, width: int, batch: int,
                 bf16: bool, device: str,
                 limit: Optional[int] = None) -> None:
    """Raise :class:`InferenceMemoryError` naming the size, the memory
    needed and the fixes when the estimate exceeds ``limit`` (default: the
    device's free memory)."""
    need = estimate_bytes(model, height, width, batch, bf16)
    have = available_bytes(device) if limit is None else limit
    if need > have:
        hints = ['a smaller batch size'] if batch > 1 else []
        if not bf16:
            hints.append('bf16=True (about half the memory)')
        hints.append("the model's tiling mode (test_cfg mode='tile' / "
                     "mmseg's mode='slide')")
        raise InferenceMemoryError(
            f'a {height}x{width} input (batch {batch}, '
            f"{'bf16' if bf16 else 'fp32'}) needs about "
            f'{need / 2**30:.2f} GiB of activations in one pass, but '
            f'{device} has {have / 2**30:.2f} GiB free; try '
            + ', or '.join(hints))
