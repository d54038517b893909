"""Evaluate (config, checkpoint) pairs on crops of several sizes: the
centre crop of each test image, or the grid of crops tiling it (the
paper's protocol)."""
import copy
import json
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

Size = Tuple[int, int]  # (height, width) in pixels


@dataclass
class ModelSpec:
    """One model of the study.

    Args:
        label: legend entry.
        config: its config file (its test pipeline, model and metric).
        checkpoint: weights to evaluate.
        train_size: ``(height, width)`` it was trained at (crop or whole
            image); None for Win-Win (windows of several places). Models
            with one form the 'trained at this size' reference line.
    """
    label: str
    config: str
    checkpoint: str
    train_size: Optional[Size] = None


def parse_size(text: str) -> Size:
    """``'112'`` -> (112, 112); ``'176x320'`` -> (176, 320) (HxW)."""
    parts = text.lower().split('x')
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f'size {text!r}: use S (square) or HxW in pixels')
    return int(parts[0]), int(parts[1])


CROPS = ('center', 'grid')


def _crop_pipeline(pipeline: List[dict], crop: dict) -> List[dict]:
    """The test pipeline with the ``crop`` transform after the
    annotations."""
    out = copy.deepcopy(list(pipeline))
    names = [step['type'] for step in out]
    if 'LoadAnnotations' not in names:
        raise ValueError('the test pipeline has no LoadAnnotations: the '
                         'study needs labels to crop with the image')
    out.insert(names.index('LoadAnnotations') + 1, crop)
    return out


def crop_dataset(dataset: dict, size: Size, crops: str = 'center') -> dict:
    """The test dataset config cropped to ``size``: ``'center'`` inserts
    ``TestCenterCrop`` (one crop per image); ``'grid'`` wraps it in
    ``GridCropDataset`` with ``TestBoxCrop`` (every crop of the grid tiling
    each image, each one sample)."""
    if crops not in CROPS:
        raise ValueError(f'crops must be one of {CROPS}, got {crops!r}')
    dataset = copy.deepcopy(dataset)
    if crops == 'center':
        dataset['pipeline'] = _crop_pipeline(
            dataset['pipeline'], dict(type='TestCenterCrop', crop_size=size))
        return dataset
    dataset['pipeline'] = _crop_pipeline(dataset['pipeline'],
                                         dict(type='TestBoxCrop'))
    return dict(type='GridCropDataset', dataset=dataset, crop_size=size)


def evaluate_sizes(spec: ModelSpec, sizes: Sequence[Size], work_dir: str,
                   cfg_options: Optional[dict] = None,
                   crops: str = 'center') -> Dict[str, float]:
    """mIoU of one model on crops of each size.

    Each size is one ``Runner.test()`` of the model's own config with its
    test dataset cropped by :func:`crop_dataset` (its model, test mode,
    temperature in the checkpoint and metric unchanged). With ``'grid'``
    the mIoU is over the pixels of all crops (a pixel in two overlapping
    crops counts twice).

    Returns:
        ``{'HxW': mIoU}``.
    """
    results = {}
    for size in sizes:
        cfg = Config.fromfile(spec.config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        cfg.test_dataloader.dataset = crop_dataset(
            cfg.test_dataloader.dataset.to_dict(), size, crops)
        cfg.load_from = spec.checkpoint
        cfg.work_dir = osp.join(work_dir, spec.label.replace(' ', '_'),
                                f'{size[0]}x{size[1]}')
        cfg.test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
        cfg.default_hooks = dict(logger=dict(type='LoggerHook',
                                             interval=10**6))
        cfg.custom_hooks = []
        cfg.visualizer = dict(type='SegLocalVisualizer', vis_backends=[])
        cfg.log_level = 'WARNING'
        metrics = Runner.from_cfg(cfg).test()
        results[f'{size[0]}x{size[1]}'] = float(metrics['mIoU'])
    return results


def run_study(specs: Sequence[ModelSpec], sizes: Sequence[Size],
              work_dir: str, out_json: str,
              cfg_options: Optional[dict] = None,
              crops: str = 'center') -> dict:
    """Evaluate every model on every size and write ``out_json``:
    ``{'crops': 'center' | 'grid', 'sizes': ['HxW', ...], 'models': [{label,
    config, checkpoint,
    train_size, miou: {'HxW': mIoU}}], 'reference': {'HxW': mIoU}}``,
    ``reference`` holding each model with a ``train_size`` at that size."""
    models = []
    for spec in specs:
        entry = asdict(spec)
        entry['miou'] = evaluate_sizes(spec, sizes, work_dir, cfg_options,
                                       crops)
        models.append(entry)
    reference = {}
    for entry in models:
        if entry['train_size'] is None:
            continue
        key = '{}x{}'.format(*entry['train_size'])
        if key in entry['miou']:
            reference[key] = entry['miou'][key]
    study = dict(crops=crops, sizes=['{}x{}'.format(*s) for s in sizes],
                 models=models, reference=reference)
    with open(out_json, 'w') as f:
        json.dump(study, f, indent=1)
    return study
