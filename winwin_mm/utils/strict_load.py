"""Load a checkpoint only if its weights fit the model.

``tools/test.py``, ``tools/tune_temperature.py`` and
``winwin_mm.apis.init_model`` use this module. mmengine's loader only *warns*
about missing, unexpected or mis-shaped keys, so a checkpoint of another
model size evaluates a randomly initialised model and reports a meaningless
score. Here any such difference is an error that lists the first offending
keys with their shapes; a partial load must be asked for explicitly.
"""
import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, List, NamedTuple, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from .checkpoint import mmengine_safe_globals

# Keys a checkpoint may lack: the per-head attention temperature buffers
# (multiplier 1.0 = stock attention) did not exist in older checkpoints.
OPTIONAL_SUFFIXES = ('.temperature', )
MAX_LISTED = 5  # offending keys listed per kind


class CheckpointFileError(RuntimeError):
    """The file is missing, truncated or not a PyTorch checkpoint."""


class CheckpointMismatchError(RuntimeError):
    """The checkpoint's weights do not fit the model."""


class Fit(NamedTuple):
    """How a state dict fits a model (keys without the ``module.`` prefix).

    Attributes:
        missing: model keys absent from the checkpoint.
        unexpected: checkpoint keys the model does not have.
        mismatched: ``(key, checkpoint shape, model shape)``.
        optional_missing: missing keys listed in ``OPTIONAL_SUFFIXES``.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]
    optional_missing: List[str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def read_checkpoint(path: str) -> dict:
    """``torch.load`` with the safe loader, turning every failure into one
    line naming the file. ``HistoryBuffer`` is allowed for checkpoints
    written before ``SafeCheckpointHook`` stored the buffers as dicts.

    Args:
        path: checkpoint file.

    Raises:
        CheckpointFileError: the file is missing, truncated (e.g. a run
            killed while writing it), not a PyTorch file, holds objects the
            safe loader refuses, or is not a dict.
    """
    if not osp.isfile(path):
        raise CheckpointFileError(f'checkpoint {path} does not exist')
    size = osp.getsize(path)
    try:
        with mmengine_safe_globals():
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        refused = re.search(r'Unsupported global: GLOBAL (\S+)', str(e))
        if refused:
            raise CheckpointFileError(
                f'checkpoint {path} holds Python objects that the safe loader '
                f'refuses ({refused.group(1)}); re-save its state_dict with '
                'torch.save, or convert it (tools/convert_croco.py for CroCo '
                'files)') from None
        detail = re.search(r'WeightsUnpickler error:\s*(.+)', str(e))
        raise CheckpointFileError(
            f'checkpoint {path} cannot be read: not a PyTorch checkpoint '
            f'({size} bytes; '
            f'{detail.group(1) if detail else _first_line(e)})') from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError,
            IndexError, TypeError, AttributeError) as e:
        raise CheckpointFileError(
            f'checkpoint {path} cannot be read: truncated, still being '
            f'written or not a PyTorch checkpoint ({size} bytes; '
            f'{_first_line(e)})') from None
    if not isinstance(ckpt, dict):
        raise CheckpointFileError(
            f'checkpoint {path} holds a {type(ckpt).__name__}, not a dict '
            'with a state_dict')
    return ckpt


def check_checkpoint_file(path: str) -> None:
    """Cheap check, without loading, that a local checkpoint file is
    complete: torch's zip format ends with a central directory that a
    truncated (half-written) file lacks. Used before ``--resume`` and
    ``load_from``.

    Raises:
        CheckpointFileError: missing, or truncated / not a torch zip file.
    """
    if not osp.isfile(path):
        raise CheckpointFileError(f'checkpoint {path} does not exist')
    if not zipfile.is_zipfile(path):
        raise CheckpointFileError(
            f'checkpoint {path} cannot be read: truncated, still being '
            f'written or not a PyTorch checkpoint ({osp.getsize(path)} '
            'bytes, no zip central directory)')


def state_dict_of(ckpt: dict) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint (``state_dict``, else ``model``, else the
    dict itself), without the ``module.`` prefix of wrapped models."""
    state = ckpt.get('state_dict', ckpt.get('model'))
    if state is None:  # a bare state dict
        state = {k: v for k, v in ckpt.items() if torch.is_tensor(v)}
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()}


def check_fit(model: nn.Module, state: Dict[str, torch.Tensor]) -> Fit:
    """Compare ``state`` with ``model.state_dict()`` key by key."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    optional = [k for k in missing if k.endswith(OPTIONAL_SUFFIXES)]
    missing = [k for k in missing if k not in optional]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape))
                  for k, v in state.items()
                  if k in own and hasattr(v, 'shape')
                  and tuple(v.shape) != tuple(own[k].shape)]
    return Fit(missing, unexpected, mismatched, optional)


def describe_fit(fit: Fit, model: nn.Module) -> List[str]:
    """Lines listing the first offending keys of each kind with shapes."""
    own = model.state_dict()
    lines = []
    for key, theirs, ours in fit.mismatched[:MAX_LISTED]:
        lines.append(f'  shape mismatch  {key}: checkpoint {theirs}, '
                     f'model {ours}')
    for key in fit.missing[:MAX_LISTED]:
        lines.append(f'  missing         {key} {tuple(own[key].shape)}')
    for key in fit.unexpected[:MAX_LISTED]:
        lines.append(f'  unexpected      {key}')
    return lines


def load_checked(model: nn.Module, path: str, strict: bool = True,
                 partial_hint: str = 'strict=False',
                 logger: str = 'current') -> dict:
    """Load ``path`` into ``model`` if every weight fits; returns the
    checkpoint dict.

    Args:
        model: the model (a DDP wrapper is unwrapped).
        path: checkpoint file.
        strict: refuse missing keys, unexpected keys and shape mismatches.
            ``False`` loads the weights that fit and logs the rest.
        partial_hint: how the caller's user asks for a partial load (a
            command-line flag or an argument), quoted in the error.
        logger: mmengine logger name for the warnings.

    Raises:
        CheckpointFileError: see :func:`read_checkpoint`.
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    ckpt = read_checkpoint(path)
    load_state_checked(model, ckpt, path, strict, partial_hint, logger)
    return ckpt


def load_state_checked(model: nn.Module, ckpt: dict, path: str,
                       strict: bool = True,
                       partial_hint: str = 'strict=False',
                       logger: str = 'current') -> None:
    """:func:`load_checked` for a checkpoint already read with
    :func:`read_checkpoint` (``path`` only names it in messages)."""
    if is_model_wrapper(model):
        model = model.module
    state = state_dict_of(ckpt)
    fit = check_fit(model, state)
    summary = (f'{len(fit.missing)} missing keys, {len(fit.unexpected)} '
               f'unexpected keys, {len(fit.mismatched)} shape mismatches')
    if not fit.ok and strict:
        raise CheckpointMismatchError('\n'.join(
            [f'checkpoint {path} does not fit the model '
             f'({type(model).__name__}): {summary}']
            + describe_fit(fit, model)
            + ['Check that the config matches the checkpoint (model size, '
               'number of classes, heads). To load only the weights that '
               f'fit, pass {partial_hint}.']))
    if not fit.ok:
        print_log('\n'.join([f'partial load of {path}: {summary}; these '
                             'weights keep their initial values:']
                            + describe_fit(fit, model)), logger, 30)
    if fit.optional_missing:
        print_log(f'{path} has no attention temperature buffers (an older '
                  'checkpoint): the multipliers stay at 1.0', logger, 20)
    skip = {k for k, _, _ in fit.mismatched}
    model.load_state_dict({k: v for k, v in state.items() if k not in skip},
                          strict=False)

