"""The process's random-number-generator states as safe-loadable values.

Python ``random``, numpy's global generator, torch's CPU generator and,
when CUDA is in use, every CUDA device's generator. The states hold only
tuples, lists, numbers and tensors, so a checkpoint that stores them still
loads with ``torch.load(path)`` (``weights_only=True``).
"""
import random
from typing import Any, Dict

import numpy as np
import torch


def get_rng_states() -> Dict[str, Any]:
    """The current generator states.

    Returns:
        dict with ``python`` (``random.getstate()``), ``numpy`` (the legacy
        ``np.random.get_state()`` tuple, its key array as a list), ``torch``
        (uint8 tensor) and, if CUDA is initialised, ``cuda`` (one uint8
        tensor per device).
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    states = dict(python=random.getstate(),
                  numpy=(name, keys.tolist(), int(pos), int(has_gauss),
                         float(gauss)),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Dict[str, Any]) -> None:
    """Put back states returned by :func:`get_rng_states`.

    Args:
        states: as returned by :func:`get_rng_states` (possibly after a
            round trip through ``torch.save`` / ``torch.load``). ``cuda`` is
            restored only on a machine with the same number of devices.
    """
    version, internal, gauss = states['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = states['numpy']
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos,
                         has_gauss, cached))
    torch.set_rng_state(states['torch'])
    cuda = states.get('cuda')
    if (cuda and torch.cuda.is_available()
            and len(cuda) == torch.cuda.device_count()):
        torch.cuda.set_rng_state_all(cuda)
