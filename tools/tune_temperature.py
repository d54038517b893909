"""Tune the attention temperature of a trained checkpoint.

    python tools/tune_temperature.py CONFIG CKPT --out NEW_CKPT \
        [--mode search|sweep|learned] [--num-images 700] [--grid 0.8 2.0 0.02]
    python tools/tune_temperature.py CONFIG CKPT --out NEW_CKPT --set 1.0
    python tools/tune_temperature.py CONFIG CKPT --out NEW_CKPT --split train

Measures the training loss on full-resolution training images for candidate
multipliers (see winwin_mm/engine/temperature). The images are those the
config's TemperatureTuningHook tunes on: its ``dataset`` (a named split of
the target benchmark, e.g. Sintel subtrain) when it names one, else the
training set; ``--split NAME`` renames the split of that dataset (or, with
no such hook, of the validation set), ``--train-set`` forces the training
set. The hook's ``objective`` is the default too. Writes NEW_CKPT (the input
checkpoint with the tuned temperature buffers; tools/test.py uses them) and
WORK_DIR/temperature/temperature.{json,png}. The checkpoint must fit the
config's model (--partial-load to load only what fits); NEW_CKPT is written
to a temporary file and renamed.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

import winwin_mm  # noqa: E402,F401  (registers the components)
from winwin_mm.engine.temperature import (  # noqa: E402
    MODES, NoTrainingSetError, analytic_from_data,
    build_full_resolution_dataloader, curve_lines, save_report,
    set_temperature, temperature_buffer_names, temperature_modules,
    training_data_samples, tune_temperature, tuning_dataset, tuning_hook)
from winwin_mm.models.utils import NoTemperatureError  # noqa: E402
from winwin_mm.utils.checkpoint import (  # noqa: E402
    TMP_SUFFIX, publish, to_safe_types)
from winwin_mm.utils.config import load_run_config  # noqa: E402
from winwin_mm.utils.data_guard import ensure_checked_datasets  # noqa: E402
from winwin_mm.utils.strict_load import (  # noqa: E402
    CheckpointFileError, CheckpointMismatchError, load_checked)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Tune the attention temperature of a checkpoint on '
        'full-resolution training images')
    parser.add_argument('config', help='config file (with a training set)')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--out', required=True,
                        help='where to write the tuned checkpoint')
    parser.add_argument('--mode', default='search', choices=MODES)
    parser.add_argument('--num-images', type=int, default=700,
                        help='full-resolution training images (paper: 700)')
    parser.add_argument('--grid', type=float, nargs=3, default=[0.8, 2., .02],
                        metavar=('LO', 'HI', 'STEP'),
                        help='candidate multipliers (paper step: 0.02)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--learn-iters', type=int, default=300)
    parser.add_argument('--learn-lr', type=float, default=0.01)
    parser.add_argument('--learn-from', default='search',
                        choices=['search', 'current'])
    parser.add_argument('--no-analytic-start', action='store_true',
                        help='start the search at the grid middle')
    parser.add_argument('--objective', default=None,
                        help="'loss' (training loss) or a key of the "
                        "model's loss dict, e.g. decode.epe for flow; "
                        "default: the config's TemperatureTuningHook "
                        "objective, else 'loss'")
    where = parser.add_mutually_exclusive_group()
    where.add_argument('--split', default=None, metavar='NAME',
                       help='tune on this split of the TemperatureTuningHook '
                       "dataset (or of the validation set), e.g. 'subtrain' "
                       "or 'train' for Sintel; default: the hook's dataset "
                       'as configured, else the training set')
    where.add_argument('--train-set', action='store_true',
                       help='tune on the training set (train_dataloader) '
                       "even when the hook names a dataset")
    parser.add_argument('--set', type=float, default=None, metavar='M',
                        help='no tuning: write NEW_CKPT with every multiplier '
                        'set to M (e.g. 1.0 for the untuned baseline)')
    parser.add_argument(
        '--partial-load', action='store_true',
        help='load only the checkpoint weights that fit the model (by '
        'default any missing, unexpected or mis-shaped weight is an error)')
    parser.add_argument('--device', default=None,
                        help='default: cuda if available, else cpu')
    parser.add_argument('--work-dir', help='where the report goes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    return parser.parse_args()


def load_model(cfg: Config, path: str, device: str, strict: bool = True):
    """Build the model and load the checkpoint with the safe loader; every
    weight must fit unless ``strict`` is False (temperature buffers may be
    missing: older checkpoints). Returns the model and the checkpoint dict;
    exits with one clear message when the file or the weights are
    refused."""
    model = MODELS.build(cfg.model)
    try:
        ckpt = load_checked(model, path, strict=strict,
                            partial_hint='--partial-load')
    except (CheckpointFileError, CheckpointMismatchError) as e:
        sys.exit(f'error: {e}')
    return model.to(device), ckpt


def write_tuned(ckpt: dict, model: torch.nn.Module, summary: dict,
                out: str) -> None:
    """The input checkpoint with its temperature buffers replaced and
    ``summary`` in ``meta['temperature_tuning']``."""
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    prefix = 'module.' if all(k.startswith('module.') for k in state) else ''
    for name in temperature_buffer_names(model):
        state[prefix + name] = model.get_buffer(name).detach().cpu().clone()
    if isinstance(ckpt.get('meta'), dict):
        ckpt['meta']['temperature_tuning'] = summary
    # Loading rebuilt the message hub's buffers; keep them safe-loadable.
    for key in ('message_hub', 'meta'):
        if key in ckpt:
            ckpt[key] = to_safe_types(ckpt[key])
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(ckpt, out + TMP_SUFFIX)  # complete before it takes the name
    publish(out + TMP_SUFFIX, out)


def analytic_source(train_dataloader: dict,
                    dataset: Optional[dict]) -> dict:
    """Where the analytic start reads training windows: the tuning dataset
    through its own pipeline when that samples windows (the hook's dataset
    uses the training pipeline), else the training set."""
    if dataset is not None and any(
            'Windows' in str(t.get('type', ''))
            for t in dataset.get('pipeline') or []):
        return dict(train_dataloader or {}, dataset=dataset)
    return train_dataloader


def tune(args: argparse.Namespace, model: torch.nn.Module, loader,
         train_dataloader: dict, dataset: Optional[dict], out_dir: str,
         logger: MMLogger) -> dict:
    """Tune, log and save the report; returns the checkpoint summary."""
    analytic = analytic_from_data(
        training_data_samples(analytic_source(train_dataloader, dataset)),
        loader.dataset[0]['inputs'].shape,
        getattr(getattr(model, 'backbone', None), 'patch_size', None))
    report = tune_temperature(
        model, loader, args.mode, args.grid, analytic,
        not args.no_analytic_start, args.learn_from, args.learn_iters,
        args.learn_lr, progress=True, objective=args.objective)
    for line in curve_lines(report):
        logger.info(line)
    for path in save_report(report, out_dir):
        logger.info(f'wrote {path}')
    return {k: report[k] for k in ('mode', 'best', 'evaluations',
                                   'forward_passes', 'num_images',
                                   'temperature')}


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir)
    ensure_checked_datasets(cfg)  # skip_unreadable in the dataset config
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    train_dataloader = cfg.get('train_dataloader')
    hook = tuning_hook(cfg) or {}
    if args.objective is None:
        args.objective = hook.get('objective', 'loss')
    if args.set is None:  # fail early, before loading anything
        try:
            dataset, what = tuning_dataset(cfg, args.split, args.train_set)
            source = (train_dataloader if dataset is None else
                      dict(train_dataloader or {}, dataset=dataset))
            loader = build_full_resolution_dataloader(
                source, args.num_images, args.batch_size)
        except (NoTrainingSetError, ValueError, FileNotFoundError) as e:
            sys.exit(f'error: {e}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    # Before anything is written: a file or weights that do not fit exit.
    model, ckpt = load_model(cfg, args.checkpoint, device,
                             strict=not args.partial_load)
    out_dir = osp.join(cfg.work_dir, 'temperature')
    os.makedirs(out_dir, exist_ok=True)
    logger = MMLogger.get_instance(
        'tune_temperature', log_file=osp.join(out_dir, 'tune.log'))
    try:
        temperature_modules(model)
    except NoTemperatureError as e:
        sys.exit(f'error: {args.config}: {e}')

    if args.set is not None:
        set_temperature(model, args.set)
        summary = dict(mode='set', best=args.set)
    else:
        logger.info(f'tuning on {len(loader.dataset)} full-resolution '
                    f'images of {what}, objective {args.objective}')
        summary = tune(args, model, loader, train_dataloader, dataset,
                       out_dir, logger)
        summary['tuning_set'] = what
    write_tuned(ckpt, model, dict(summary, source=args.checkpoint), args.out)
    logger.info(f'wrote {args.out} (temperature buffers set, mode '
                f'{summary["mode"]}); evaluate it with tools/test.py')


if __name__ == '__main__':
    main()
