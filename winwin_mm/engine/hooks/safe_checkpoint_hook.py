"""Write mmengine checkpoints that torch's safe loader can read."""
from typing import Any

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmseg.registry import HOOKS


class _PortableHistoryBuffer(HistoryBuffer):
    """Pickles as ``HistoryBuffer(log_history, count_history, max_length)``
    with plain lists. The stock buffer pickles its statistics methods (via
    ``builtins.getattr``) and numpy arrays, which ``weights_only`` loading
    rejects and which must not be allow-listed."""

    def __reduce__(self):
        return (HistoryBuffer, (self._log_history.tolist(),
                                self._count_history.tolist(),
                                self.max_length))


def to_safe_types(obj: Any) -> Any:
    """Recursively replace numpy values by Python ones and history buffers
    by their portable form; everything else is returned unchanged."""
    if isinstance(obj, HistoryBuffer):
        buf = _PortableHistoryBuffer(max_length=obj.max_length)
        buf._log_history, buf._count_history = (obj._log_history,
                                                obj._count_history)
        return buf
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, to_safe_types(v)) for k, v in obj.items()) \
            if type(obj) is not dict else {k: to_safe_types(v)
                                           for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(to_safe_types(v) for v in obj)
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Make the message hub and meta of every saved checkpoint loadable with
    ``torch.load(weights_only=True)`` (the default since torch 2.6, which
    mmengine 0.10.7 relies on when resuming).

    With it, resuming only needs ``HistoryBuffer`` allow-listed (see
    ``winwin_mm.utils.checkpoint.mmengine_safe_globals``). ``tools/train.py``
    adds it to every run; add ``dict(type='SafeCheckpointHook')`` to
    ``custom_hooks`` when training with another script.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = to_safe_types(checkpoint[key])
