"""The attention-temperature protocol shared by every Win-Win component.

A component that owns temperatures implements one public method,
``temperature_modules()``: an ordered ``{name: attention}`` dict of its
attention modules with a per-head ``temperature`` buffer (encoder blocks
first, then decoder self- and cross-attentions). :class:`TemperatureMixin`
builds ``set_temperature`` / ``get_temperature`` on top of it, so the
backbone, the flow decoder and the task models read and write temperatures
the same way; the tuning hook, ``tools/tune_temperature.py`` and the learned
mode go through the model's ``temperature_modules()`` only.
"""
from collections import OrderedDict
from typing import Dict, List, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

Temperature = Union[float, Tensor, Sequence[Tensor]]


class NoTemperatureError(AttributeError):
    """The model has no attention with a temperature (e.g. an Iwin
    backbone): temperature tuning does not apply."""


def collect_temperature_modules(owners: Dict[str, nn.Module],
                                what: str) -> Dict[str, nn.Module]:
    """``{prefix.name: attention}`` over the components that own
    temperatures, in the given order.

    Args:
        owners: ``{prefix: component}``; components without
            ``temperature_modules()`` (or None) contribute nothing.
        what: the model's description for the error message.

    Raises:
        NoTemperatureError: no component has a temperature.
    """
    found = OrderedDict()
    for prefix, owner in owners.items():
        if owner is None or not hasattr(owner, 'temperature_modules'):
            continue
        for name, module in owner.temperature_modules().items():
            found[f'{prefix}.{name}'] = module
    if not found:
        raise NoTemperatureError(
            f'{what} has no attention temperature (only RoPE attention in '
            'RoPEVisionTransformer / RoPECrossDecoder has one), so it cannot '
            'be tuned: remove TemperatureTuningHook from the config or use a '
            'RoPEVisionTransformer backbone')
    return found


class TemperatureMixin:
    """``set_temperature`` / ``get_temperature`` over ``temperature_modules``.

    Values are multipliers of the default logit scale ``D^-0.5`` (1.0 = stock
    attention), one per head of every attention module A.
    """

    def temperature_modules(self) -> Dict[str, nn.Module]:
        raise NotImplementedError

    def set_temperature(self, value: Temperature) -> None:
        """Set the multipliers.

        Args:
            value: one float for every head of every attention module, a
                tensor of shape ``(num_layers, num_heads)`` (one row per
                attention module, in ``temperature_modules()`` order), or a
                sequence of per-module ``(num_heads,)`` tensors (modules with
                different head counts).
        """
        modules = list(self.temperature_modules().values())
        heads = [m.temperature.numel() for m in modules]
        if isinstance(value, (list, tuple)):
            rows = [torch.as_tensor(v, dtype=torch.float32) for v in value]
        else:
            value = torch.as_tensor(value, dtype=torch.float32)
            if value.dim() == 0:
                rows = [value.expand(h) for h in heads]
            elif value.dim() == 2 and len(set(heads)) == 1:
                rows = list(value)
            else:
                rows = None
        if (rows is None or len(rows) != len(modules)
                or any(r.shape != (h, ) for r, h in zip(rows, heads))):
            shape = (f'({len(modules)}, {heads[0]})' if len(set(heads)) == 1
                     else f'{len(modules)} rows of {heads} heads')
            got = (tuple(value.shape) if isinstance(value, Tensor) else
                   [tuple(r.shape) for r in rows or []])
            raise ValueError(
                'temperature must be a float or a tensor of shape '
                f'(num_layers, num_heads)={shape}, one row per attention '
                f'module of {type(self).__name__}, got {got}')
        for module, row in zip(modules, rows):
            module.temperature.copy_(row)

    def get_temperature(self) -> Union[Tensor, List[Tensor]]:
        """The multipliers: ``(num_layers, num_heads)`` (one row per
        attention module), or a list of per-module tensors when the head
        counts differ."""
        rows = [m.temperature.detach().clone()
                for m in self.temperature_modules().values()]
        if len({r.numel() for r in rows}) == 1:
            return torch.stack(rows)
        return rows
