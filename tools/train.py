"""Train a segmentor (mmseg-compatible flags).

    python tools/train.py configs/winwin/vitb_2win22_bdd.py
    python tools/train.py CONFIG --resume            # latest in work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint

The checkpoint guarantees (safe-loader files, atomic writes, random states
restored on resume) come from the config (configs/_base_/default_runtime.py),
so mmsegmentation's own tools/train.py gives them too. This tool adds what a
config cannot declare: datasets wrapped in CheckedDataset (a corrupt sample
names its file; skip_unreadable=True on the dataset skips it), a one-line
error for a truncated --resume file, and gloo process groups for torchrun on
machines without CUDA.
"""
import argparse
import logging
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import winwin_mm  # noqa: E402,F401  (registers the components)
from winwin_mm.utils.config import load_run_config, set_amp  # noqa: E402
from winwin_mm.utils.data_guard import ensure_checked_datasets  # noqa: E402
from winwin_mm.utils.distributed import setup_cpu_distributed  # noqa: E402
from winwin_mm.utils.strict_load import (  # noqa: E402
    CheckpointFileError, check_checkpoint_file)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None, metavar='CKPT',
        help='resume from CKPT, or (no value) from the latest checkpoint in '
        'the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training: fp16 with '
                        'loss scaling on CUDA, bf16 autocast elsewhere (CPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir,
                          args.launcher)
    if args.amp:
        if cfg.optim_wrapper.get('type') in ('AmpOptimWrapper',
                                             'BF16OptimWrapper'):
            print_log('AMP is already enabled in the config', 'current',
                      logging.WARNING)
        set_amp(cfg.optim_wrapper, torch.cuda.is_available())
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    # A truncated --resume / load_from file: one line, not a zip traceback.
    if cfg.get('load_from') and '://' not in cfg.load_from:
        try:
            check_checkpoint_file(cfg.load_from)
        except CheckpointFileError as e:
            sys.exit(f'error: {e}')

    # A corrupt sample names its file and index (or is skipped, on request).
    ensure_checked_datasets(cfg)
    setup_cpu_distributed(cfg)  # torchrun on CPU: gloo
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
