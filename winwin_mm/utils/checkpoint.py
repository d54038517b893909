"""Let torch's safe (``weights_only``) loader read our mmengine checkpoints.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch
2.6 that means the safe loader. Checkpoints written with
``SafeCheckpointHook`` hold tensors, Python containers and scalars, plus the
message hub's ``HistoryBuffer`` objects rebuilt from plain lists: allowing
that one mmengine type is all the loader needs. The safe loader stays on.
"""
import contextlib
from typing import Iterator, List

import torch


def mmengine_checkpoint_globals() -> List[type]:
    """Non-tensor types in checkpoints written with ``SafeCheckpointHook``."""
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer]


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Context in which such checkpoints load with the safe loader."""
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        yield


def ensure_safe_checkpoint_hook(cfg) -> None:
    """Add ``SafeCheckpointHook`` to ``cfg.custom_hooks`` unless present."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') in ('SafeCheckpointHook',
                                 'mmseg.SafeCheckpointHook') for h in hooks):
        hooks.append(dict(type='SafeCheckpointHook'))
    cfg.custom_hooks = hooks


def ensure_atomic_checkpoint_hook(cfg) -> None:
    """Make ``default_hooks.checkpoint`` an ``AtomicCheckpointHook`` (same
    arguments) when it is mmengine's ``CheckpointHook`` or not set, so a
    killed run never leaves a half-written checkpoint for ``--resume``."""
    hooks = cfg.get('default_hooks', None)
    if hooks is None:
        cfg.default_hooks = hooks = {}
    if 'checkpoint' not in hooks:
        hooks['checkpoint'] = dict(type='CheckpointHook', interval=1)
    hook = hooks['checkpoint']
    if hook is None:  # checkpoints disabled
        return
    if str(hook.get('type', '')).split('.')[-1] == 'CheckpointHook':
        hook['type'] = 'mmseg.AtomicCheckpointHook'
