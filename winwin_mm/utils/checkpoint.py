"""Let torch's safe (``weights_only``) loader read mmengine checkpoints.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch
2.6 that means the safe loader, which rejects the few non-tensor objects
mmengine pickles into its checkpoints (the message hub's ``HistoryBuffer``
and the numpy arrays/scalars inside it). Rather than turning the safe loader
off, we allow exactly those types.
"""
import contextlib
from typing import Iterator, List

import numpy as np
import torch


def mmengine_checkpoint_globals() -> List[object]:
    """The non-tensor types found in checkpoints written by mmengine's
    ``CheckpointHook`` (found with ``torch.serialization.
    get_unsafe_globals_in_checkpoint`` on real checkpoints)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    types = [HistoryBuffer, np.ndarray, np.dtype,
             np._core.multiarray._reconstruct, np._core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of these classes.
    types += [type(np.dtype(t)) for t in
              (np.float64, np.float32, np.int64, np.int32, np.bool_,
               np.uint8)]
    return types


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Context in which mmengine checkpoints load with the safe loader."""
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        yield


def allow_mmengine_checkpoints() -> None:
    """Process-wide variant of :func:`mmengine_safe_globals`, for code that
    cannot wrap the call (e.g. a user's own script calling ``runner.test``)."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
