"""Learned per-head temperatures (paper, Appendix E): all weights frozen,
one multiplier per head and layer optimised on full-resolution training
images."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.func import functional_call
from torch.utils.data import DataLoader

from .measure import (Temperature, get_temperature, set_temperature,
                      sum_losses, temperature_modules, unwrap_model)


def temperature_buffer_names(model: nn.Module) -> List[str]:
    """Names of the per-head ``temperature`` buffers, in the order of the
    model's ``temperature_modules()`` (encoder, then decoder)."""
    return [f'{name}.temperature' for name in temperature_modules(model)]


def _cycle(dataloader: DataLoader):
    while True:
        yield from dataloader


def learn_temperatures(model: nn.Module, dataloader: DataLoader,
                       num_iters: int = 300, lr: float = 0.01,
                       init: Optional[Temperature] = None,
                       progress: bool = True,
                       log_interval: int = 50) -> Dict[str, object]:
    """Optimise log-multipliers ``(num_layers, num_heads)`` with Adam on the
    full-resolution training loss, then write ``exp`` of them with the
    model's ``set_temperature``.

    The weights keep ``requires_grad=False`` during the run (restored after),
    so the backward pass only reaches the multipliers. They override the
    attention's ``temperature`` buffers through ``torch.func.functional_call``
    so gradients flow without touching the modules. Gradients are averaged
    over processes. The model runs in eval mode (no dropout / drop path).

    Args:
        model: the (possibly wrapped) model.
        dataloader: full-resolution training images (cycled).
        num_iters: optimisation steps (one batch each).
        lr: Adam learning rate on the log-multipliers.
        init: starting multipliers (float or ``(num_layers, num_heads)``);
            default: the model's current ones.
        progress: show a progress bar (main process).
        log_interval: log the running loss every this many steps.

    Returns:
        ``temperature`` (the learned ``(num_layers, num_heads)`` tensor),
        ``losses`` (per step), ``forward_backward_passes`` (images, all
        processes).
    """
    model = unwrap_model(model)
    if init is not None:
        set_temperature(model, init)
    names = temperature_buffer_names(model)
    device = next(model.parameters()).device
    # One log-multiplier row per attention module (head counts may differ
    # between encoder and decoder).
    start = [m.temperature.detach().float()
             for m in temperature_modules(model).values()]
    log_m = nn.ParameterList(
        [nn.Parameter(t.log().to(device)) for t in start])
    optimizer = torch.optim.Adam(log_m.parameters(), lr=lr)

    frozen = {p: p.requires_grad for p in model.parameters()}
    for p in model.parameters():
        p.requires_grad_(False)
    was_training = model.training
    model.eval()
    bar = ProgressBar(num_iters) if progress and is_main_process() else None
    losses, images, batches = [], 0, _cycle(dataloader)
    try:
        for step in range(num_iters):
            data_batch = next(batches)
            buffers = {name: row.exp() for name, row in zip(names, log_m)}
            data = model.data_preprocessor(data_batch, True)
            loss = _loss_with(model, buffers, data)
            optimizer.zero_grad()
            loss.backward()
            for row in log_m:
                all_reduce(row.grad, op='mean')
            optimizer.step()
            losses.append(loss.item())
            images += len(data_batch['inputs'])
            if bar is not None:
                bar.update()
            if log_interval and (step + 1) % log_interval == 0:
                recent = losses[-log_interval:]
                print_log(f'learned temperature: step {step + 1}/{num_iters}'
                          f' loss {sum(recent) / len(recent):.5f} mean '
                          f'multiplier {_mean_multiplier(log_m):.4f}',
                          logger='current')
    finally:
        for p, flag in frozen.items():
            p.requires_grad_(flag)
        model.train(was_training)
    if bar is not None:
        bar.file.write('\n')
    learned = [row.detach().exp().cpu() for row in log_m]
    if len({row.numel() for row in learned}) == 1:
        learned = torch.stack(learned)  # A, H
    set_temperature(model, learned)
    return dict(temperature=learned, losses=losses,
                forward_backward_passes=images * get_world_size())


def _mean_multiplier(log_m: nn.ParameterList) -> float:
    return float(torch.cat([row.detach().exp() for row in log_m]).mean())


def _loss_with(model: nn.Module, buffers: Dict[str, Tensor],
               data: dict) -> Tensor:
    """The batch loss with some buffers replaced by (differentiable)
    tensors."""
    losses = functional_call(model, buffers, args=(), kwargs=dict(
        **data, mode='loss'))
    return sum_losses(losses)
