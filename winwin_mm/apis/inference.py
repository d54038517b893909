"""Build a model from a config and load a checkpoint that must fit it."""
import warnings
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.models import BaseSegmentor, DepthEstimator
from mmseg.registry import MODELS
from mmseg.utils import dataset_aliases, get_classes, get_palette

from ..utils.strict_load import load_checked


def _drop_init_cfgs(model_cfg: dict) -> None:
    """No pretrained files at inference: the checkpoint holds every weight
    (backbone, decoder, heads), so their ``init_cfg`` must not be read."""
    for value in model_cfg.values():
        if isinstance(value, dict) and 'init_cfg' in value:
            value['init_cfg'] = None


def _guess_class_meta(model: nn.Module) -> Optional[dict]:
    """mmseg's fallback for checkpoints without ``dataset_meta``: the first
    known dataset with the head's number of classes (segmentation only)."""
    head = getattr(model, 'decode_head', None)
    fields = getattr(model, 'gt_fields', None)
    if (isinstance(model, DepthEstimator) or head is None
            or not hasattr(head, 'num_classes')
            or (fields is not None and 'gt_sem_seg' not in fields)):
        return None  # depth and flow models have no classes
    warnings.warn('dataset_meta or class names are not saved in the '
                  "checkpoint's meta data, classes and palette are set "
                  'according to num_classes')
    name = next((n for n in dataset_aliases
                 if len(get_classes(n)) == head.num_classes), None)
    if name is None:
        warnings.warn('No suitable dataset found, use Cityscapes by default')
        name = 'cityscapes'
    return dict(classes=get_classes(name), palette=get_palette(name))


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               strict: bool = True) -> BaseSegmentor:
    """Build a segmentation, depth or flow model from a config and load a
    checkpoint, as ``mmseg.apis.init_model`` does (``dataset_meta`` from the
    checkpoint's meta, ``model.cfg``, eval mode) but refusing a checkpoint
    whose weights do not fit the model.

    Args:
        config: config file or ``Config``.
        checkpoint: checkpoint file; ``None`` keeps the initial weights.
        device: ``'cpu'``, ``'cuda:0'``, ...
        cfg_options: overrides merged into the config.
        strict: refuse missing, unexpected and mis-shaped weights
            (:class:`CheckpointMismatchError` lists the first ones);
            ``False`` loads those that fit and logs the rest.

    Raises:
        CheckpointFileError: the file is missing, truncated or not a
            checkpoint.
        CheckpointMismatchError: ``strict`` and the weights do not fit.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    _drop_init_cfgs(config.model)
    if 'pretrained' in config.model:  # flow models take no such argument
        config.model.pretrained = None
    config.model.train_cfg = None
    init_default_scope(config.get('default_scope', 'mmseg'))
    model = MODELS.build(config.model)
    if checkpoint is not None:
        ckpt = load_checked(model, checkpoint, strict=strict)
        meta = ckpt.get('meta') or {}
        if 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
        elif 'CLASSES' in meta:  # mmseg 0.x checkpoints
            model.dataset_meta = dict(classes=meta['CLASSES'],
                                      palette=meta.get('PALETTE'))
        else:
            model.dataset_meta = _guess_class_meta(model)
    model.cfg = config
    model.to(device)
    model.eval()
    return model
