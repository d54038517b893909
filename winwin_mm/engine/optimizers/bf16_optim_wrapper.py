"""bf16 autocast training on any device, the CPU included.

mmengine 0.10.7's ``AmpOptimWrapper`` refuses to start without a GPU, NPU,
MLU or MUSA device, and always wraps a ``GradScaler``. bf16 has fp32's
exponent range, so it needs no loss scaling: this wrapper is mmengine's
plain ``OptimWrapper`` (gradient accumulation, clipping, state dicts) with
the forward and loss run under ``mmengine.runner.amp.autocast`` in bf16 on
the device of the model's parameters. Weights, gradients and optimizer
state stay fp32.

    optim_wrapper = dict(type='BF16OptimWrapper',
                         optimizer=dict(type='AdamW', lr=1e-4))

``tools/train.py --amp`` picks it wherever fp16 ``AmpOptimWrapper`` cannot
run (no CUDA device).
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast
from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward and loss run in bf16 autocast.

    Args:
        **kwargs: as :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), autocast(
                device_type=device_type, dtype=torch.bfloat16):
            yield
