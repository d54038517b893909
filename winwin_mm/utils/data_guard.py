"""Wrap the datasets of a run so unreadable files are named (or skipped)."""
from mmengine.config import Config

WRAPPER = 'CheckedDataset'
OPTIONS = ('skip_unreadable', 'max_skips')  # moved onto the wrapper


def _is_checked(dataset_cfg: dict) -> bool:
    t = dataset_cfg.get('type', '')
    name = t if isinstance(t, str) else getattr(t, '__name__', '')
    return name.split('.')[-1] == WRAPPER


def checked_dataset_cfg(dataset_cfg: dict) -> dict:
    """``dataset_cfg`` wrapped in ``CheckedDataset`` (unless it is one), with
    ``skip_unreadable`` / ``max_skips`` written on the dataset moved onto
    the wrapper.

    Args:
        dataset_cfg: a dataloader's ``dataset`` config.
    """
    if _is_checked(dataset_cfg):
        return dataset_cfg
    inner = dict(dataset_cfg)
    options = {k: inner.pop(k) for k in OPTIONS if k in inner}
    return dict(type='mmseg.' + WRAPPER, dataset=inner, **options)


def ensure_checked_datasets(cfg: Config) -> None:
    """Wrap the dataset of every ``{train,val,test}_dataloader`` of ``cfg``
    in ``CheckedDataset`` and add ``SkippedSamplesHook`` to
    ``cfg.custom_hooks``; called by ``tools/train.py`` and ``tools/test.py``
    after ``--cfg-options`` are merged."""
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader and isinstance(loader.get('dataset'), dict):
            loader['dataset'] = checked_dataset_cfg(loader['dataset'])
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(str(h.get('type', '')).endswith('SkippedSamplesHook')
               for h in hooks):
        hooks.append(dict(type='mmseg.SkippedSamplesHook'))
    cfg.custom_hooks = hooks
