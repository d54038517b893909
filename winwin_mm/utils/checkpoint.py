"""Checkpoint contents that torch's safe (``weights_only``) loader reads.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch
2.6 that means the safe loader, which refuses the message hub's
``HistoryBuffer`` objects and numpy arrays of a stock mmengine checkpoint.
``SafeCheckpointHook`` stores them as plain containers
(:func:`to_safe_types`) and rebuilds the buffers when the checkpoint is
loaded (:func:`restore_history_buffers`), so its checkpoints load with a
plain ``torch.load(path)``: no allow-list, the safe loader stays on.

The functions here are pure (no runner): the hook, ``tools/`` and the tests
share them.
"""
import contextlib
import os
import os.path as osp
from typing import Any, Iterator, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

BUFFER_TYPE = 'HistoryBuffer'  # ``type`` of a buffer stored as a dict
TMP_SUFFIX = '.tmp'  # "iter_4.pth.tmp": not matched by "*.pth"


def history_buffer_to_dict(buf: HistoryBuffer) -> dict:
    """``buf`` as a dict of lists (what the safe loader accepts)."""
    return dict(type=BUFFER_TYPE, log_history=buf._log_history.tolist(),
                count_history=buf._count_history.tolist(),
                max_length=buf.max_length)


def _is_buffer_dict(obj: Any) -> bool:
    return (isinstance(obj, dict) and obj.get('type') == BUFFER_TYPE
            and 'log_history' in obj and 'count_history' in obj)


def to_safe_types(obj: Any) -> Any:
    """``obj`` with history buffers stored as dicts
    (:func:`history_buffer_to_dict`) and numpy values as Python ones,
    recursively; everything else is returned unchanged. Idempotent."""
    if isinstance(obj, HistoryBuffer):
        return history_buffer_to_dict(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        items = ((k, to_safe_types(v)) for k, v in obj.items())
        return dict(items) if type(obj) is dict else type(obj)(items)
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(to_safe_types(v) for v in obj)
    return obj


def restore_history_buffers(obj: Any) -> Any:
    """Inverse of :func:`to_safe_types` for the buffers: every dict written
    by :func:`history_buffer_to_dict` becomes a ``HistoryBuffer`` again,
    recursively (dicts and lists are updated in place and returned)."""
    if _is_buffer_dict(obj):
        return HistoryBuffer(obj['log_history'], obj['count_history'],
                             obj.get('max_length', 1000000))
    if isinstance(obj, dict):
        for k, v in obj.items():
            obj[k] = restore_history_buffers(v)
    elif isinstance(obj, list):
        obj[:] = [restore_history_buffers(v) for v in obj]
    return obj


def mmengine_checkpoint_globals() -> List[type]:
    """The mmengine type that checkpoints written before
    ``SafeCheckpointHook`` stored its buffers as dicts still hold."""
    return [HistoryBuffer]


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Context in which such older checkpoints load with the safe loader
    (``HistoryBuffer`` allowed). Checkpoints of ``SafeCheckpointHook`` do
    not need it."""
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        yield


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: str, path: str) -> None:
    """Move the complete file ``tmp`` to ``path`` in one step: ``path`` is
    the old file or the new one, never a mix (POSIX ``rename``)."""
    _fsync(tmp)
    os.replace(tmp, path)
    try:  # make the rename itself durable (power loss, not only SIGKILL)
        _fsync(osp.dirname(osp.abspath(path)))
    except OSError:
        pass


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path + TMP_SUFFIX
    with open(tmp, 'w') as f:
        f.write(text)
    publish(tmp, path)
