"""Evaluate a checkpoint at full resolution (mmseg-compatible flags).

    python tools/test.py CONFIG CHECKPOINT [--show-dir DIR] [--out DIR]

The checkpoint must fit the config's model: a missing, unexpected or
mis-shaped weight stops the tool (non-zero exit, nothing evaluated or
written) with the first offending keys; --partial-load loads only what fits.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import winwin_mm  # noqa: E402,F401  (registers the components)
from winwin_mm.utils.config import load_run_config  # noqa: E402
from winwin_mm.utils.data_guard import ensure_checked_datasets  # noqa: E402
from winwin_mm.utils.distributed import setup_cpu_distributed  # noqa: E402
from winwin_mm.utils.strict_load import (  # noqa: E402
    CheckpointFileError, CheckpointMismatchError, load_state_checked,
    read_checkpoint)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument(
        '--out', help='dir to save the predicted maps (PNG; flow: .flo '
        'files named after frame 1, Sintel: DIR/{clean,final}/SCENE/...)')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='dir to save drawn overlays')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='display time of --show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--tta', action='store_true', help='test time aug')
    parser.add_argument(
        '--partial-load', action='store_true',
        help='load only the checkpoint weights that fit the model (by '
        'default any missing, unexpected or mis-shaped weight is an error)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(
            '--show/--show-dir need default_hooks.visualization '
            '(SegVisualizationHook; FlowVisualizationHook for flow) in '
            'the config')
    hooks.visualization.draw = True
    hooks.visualization.interval = 1
    if args.show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = args.wait_time
    if args.show_dir:
        cfg.visualizer.save_dir = args.show_dir
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]


def main() -> None:
    args = parse_args()
    # Read the file before building anything: a truncated or foreign file
    # is one line naming it.
    try:
        ckpt = read_checkpoint(args.checkpoint)
    except CheckpointFileError as e:
        sys.exit(f'error: {e}')
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir,
                          args.launcher)
    # Loaded below with the fit check, not by the runner (whose loader only
    # warns about keys that do not fit).
    cfg.load_from = None
    cfg.resume = False
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    ensure_checked_datasets(cfg)
    setup_cpu_distributed(cfg)

    runner = Runner.from_cfg(cfg)
    model = runner.model
    if is_model_wrapper(model):  # DDP
        model = model.module
    if args.tta:  # SegTTAModel: the weights are those of its module
        model = model.module
    runner.call_hook('after_load_checkpoint', checkpoint=ckpt)
    try:
        load_state_checked(model, ckpt, args.checkpoint,
                           strict=not args.partial_load,
                           partial_hint='--partial-load')
    except CheckpointMismatchError as e:
        runner.logger.error(str(e))
        sys.exit(f'error: {e}')
    runner.logger.info(f'Load checkpoint from {args.checkpoint}')
    runner.test()


if __name__ == '__main__':
    main()
