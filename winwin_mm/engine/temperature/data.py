"""Full-resolution training images for measuring the temperature.

The training pipeline is reused with the window sampler removed, so images
go through the model whole, as at test time. Random augmentations are
removed as well (default): every candidate multiplier is then measured on
exactly the same inputs, so loss differences come from the temperature
alone -- a search compares pairs of evaluations and would be misled by
augmentation noise. Random resizes and crops go too, which leaves the
images at their stored (full) resolution.
"""
import copy
from typing import Optional, Sequence

import torch
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset, Subset

# Transforms dropped by default: the window samplers, and the random
# augmentations of mmseg pipelines (any type whose name holds "Random" is
# dropped too, e.g. RandomFlip, RandomResize, RandomCrop, RandomRotate).
DROP_TRANSFORMS = ('RandomWindows', 'FlowGuidedWindows',
                   'PhotoMetricDistortion', 'FlowColorJitter', 'Albu',
                   'BioMedicalGaussianNoise', 'BioMedicalGaussianBlur')


class NoTrainingSetError(ValueError):
    """The config has no usable training set."""


def _type_name(transform: dict) -> str:
    t = transform.get('type', '')
    name = t if isinstance(t, str) else getattr(t, '__name__', str(t))
    return name.split('.')[-1]  # 'mmseg.RandomFlip' -> 'RandomFlip'


def full_resolution_pipeline(
        pipeline: Sequence[dict],
        drop: Optional[Sequence[str]] = None) -> list:
    """A copy of ``pipeline`` without windows and random augmentations.

    Args:
        pipeline: transform configs of a training pipeline.
        drop: transform type names to remove; default: ``DROP_TRANSFORMS``
            and every name containing ``'Random'``. Pass e.g.
            ``('RandomWindows',)`` to keep the augmentations.
    """
    drop_random = drop is None
    drop = set(DROP_TRANSFORMS if drop is None else drop)
    kept = []
    for t in pipeline:
        name = _type_name(t)
        if name in drop or (drop_random and 'Random' in name):
            continue
        kept.append(copy.deepcopy(t))
    return kept


def _strip_pipelines(dataset_cfg: dict, drop: Optional[Sequence[str]]):
    """Apply :func:`full_resolution_pipeline` to every pipeline of a dataset
    config, including those of wrappers (Concat/Repeat datasets)."""
    cfg = copy.deepcopy(dataset_cfg)
    if cfg.get('pipeline') is not None:
        cfg['pipeline'] = full_resolution_pipeline(cfg['pipeline'], drop)
    if isinstance(cfg.get('dataset'), dict):
        cfg['dataset'] = _strip_pipelines(cfg['dataset'], drop)
    if isinstance(cfg.get('datasets'), (list, tuple)):
        cfg['datasets'] = [_strip_pipelines(d, drop) for d in cfg['datasets']]
    return cfg


def build_full_resolution_dataset(train_dataloader: Optional[dict],
                                  drop: Optional[Sequence[str]] = None
                                  ) -> Dataset:
    """The training set with full-resolution pipelines.

    Args:
        train_dataloader: the config's ``train_dataloader`` (a dict).
        drop: see :func:`full_resolution_pipeline`.

    Raises:
        NoTrainingSetError: no ``train_dataloader.dataset``, or it is empty.
    """
    if not train_dataloader or not train_dataloader.get('dataset'):
        raise NoTrainingSetError(
            'the config has no training set (train_dataloader.dataset): the '
            'temperature is tuned on full-resolution *training* images. Use '
            'a config with a train_dataloader, or add one with --cfg-options')
    dataset = DATASETS.build(_strip_pipelines(train_dataloader['dataset'],
                                              drop))
    if isinstance(dataset, BaseDataset):
        dataset.full_init()
    if len(dataset) == 0:
        raise NoTrainingSetError('the training set is empty; check '
                                 'train_dataloader.dataset (data_root, '
                                 'data_prefix)')
    return dataset


def build_full_resolution_dataloader(train_dataloader: Optional[dict],
                                     num_images: int = 700,
                                     batch_size: int = 1,
                                     num_workers: Optional[int] = None,
                                     drop: Optional[Sequence[str]] = None
                                     ) -> DataLoader:
    """A fixed, ordered set of ``num_images`` full-resolution training
    images, spread evenly over the training set (all when it is smaller).
    With several processes, mmengine's ``DefaultSampler`` splits them.

    Args:
        train_dataloader: the config's ``train_dataloader`` (a dict).
        num_images: images to measure on (paper: 700).
        batch_size: images per forward pass; 1 avoids padding images of
            different sizes (padding adds tokens that change the attention).
        num_workers: loader workers; default: those of ``train_dataloader``.
        drop: see :func:`full_resolution_pipeline`.
    """
    dataset = build_full_resolution_dataset(train_dataloader, drop)
    n = min(num_images, len(dataset))
    index = torch.linspace(0, len(dataset) - 1, n).round().long().unique()
    if num_workers is None:
        num_workers = train_dataloader.get('num_workers', 0)
    return Runner.build_dataloader(dict(
        dataset=Subset(dataset, index.tolist()),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=batch_size,
        num_workers=num_workers,
        # Workers are reused by every evaluation.
        persistent_workers=num_workers > 0,
        collate_fn=train_dataloader.get('collate_fn',
                                        dict(type='pseudo_collate'))))


def training_data_samples(train_dataloader: dict, num: int = 4) -> list:
    """Data samples of the first ``num`` training images through the
    unchanged training pipeline (their metainfo holds the windows), for the
    analytic guess when no training batch is at hand."""
    dataset = DATASETS.build(copy.deepcopy(train_dataloader['dataset']))
    return [dataset[i]['data_samples']
            for i in range(min(num, len(dataset)))]
