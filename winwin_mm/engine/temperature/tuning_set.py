"""Which images a config tunes the temperature on, outside training.

``tools/tune_temperature.py`` follows the config's
``TemperatureTuningHook``: when the hook names a ``dataset`` (a split of the
target benchmark, e.g. Sintel ``subtrain``), the tool tunes on it as the
hook would; a ``split`` option renames the split of that dataset (or, with
no such hook, of the config's validation set: the target benchmark); or the
training set is used, as the hook does without ``dataset``.
"""
import copy
from typing import Optional, Tuple

HOOK_TYPE = 'TemperatureTuningHook'


def tuning_hook(cfg) -> Optional[dict]:
    """The config's ``TemperatureTuningHook`` entry of ``custom_hooks``, or
    None."""
    for hook in cfg.get('custom_hooks') or []:
        if str(hook.get('type', '')).split('.')[-1] == HOOK_TYPE:
            return hook
    return None


def tuning_dataset(cfg, split: Optional[str] = None,
                   train_set: bool = False) -> Tuple[Optional[dict], str]:
    """The dataset config to tune on and a description of it.

    Args:
        cfg: the run config.
        split: a split name (``'subtrain'``, ``'train'``, ...) replacing the
            ``split`` of the hook's dataset, or of ``val_dataloader.dataset``
            when the hook names none. The dataset type must take ``split``
            (the flow datasets do).
        train_set: tune on the training set (``train_dataloader``).

    Returns:
        ``(dataset, what)``: ``dataset`` None means the training set.

    Raises:
        ValueError: ``split`` with ``train_set``, or a ``split`` that the
            chosen dataset config cannot take.
    """
    if train_set:
        if split is not None:
            raise ValueError('give a split or the training set, not both')
        return None, 'the training set (train_dataloader)'
    hook = tuning_hook(cfg) or {}
    dataset = hook.get('dataset')
    what = f'the {HOOK_TYPE} dataset'
    if split is None:
        if dataset is None:
            return None, 'the training set (train_dataloader)'
        return copy.deepcopy(dict(dataset)), \
            f'{what} ({_describe(dataset)})'
    if dataset is None:
        dataset = (cfg.get('val_dataloader') or {}).get('dataset')
        what = 'the validation dataset with another split'
    renamed = _with_split(dataset, split) if dataset else None
    if renamed is None:
        raise ValueError(
            f'split={split!r}: {what} has no "split" setting '
            f'({_describe(dataset) if dataset else "none"}); name the '
            f'dataset in {HOOK_TYPE}(dataset=...) or with --cfg-options')
    return renamed, f'{what} ({_describe(renamed)})'


def _with_split(dataset: dict, split: str) -> Optional[dict]:
    """A copy of ``dataset`` with ``split`` replaced, also through
    single-dataset wrappers (``CheckedDataset``, ``RepeatDataset``); None
    when no ``split`` is found."""
    dataset = copy.deepcopy(dict(dataset))
    if 'split' in dataset:
        dataset['split'] = split
        return dataset
    if isinstance(dataset.get('dataset'), dict):
        inner = _with_split(dataset['dataset'], split)
        if inner is not None:
            dataset['dataset'] = inner
            return dataset
    return None


def _describe(dataset: dict) -> str:
    while 'split' not in dataset and isinstance(dataset.get('dataset'),
                                                dict):
        dataset = dataset['dataset']  # the wrapped dataset says more
    keys = ('type', 'data_root', 'split', 'pass_style')
    return ', '.join(f'{k}={dataset[k]!r}' for k in keys if k in dataset)
