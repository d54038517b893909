"""Run one of the paper's segmentation studies at CPU scale.

    python tools/ablation.py STUDY [--seeds 0 1] [--iters 200] \
        [--settings NAME ...] [--work-dir work_dirs/ablations] \
        [--cfg-options KEY=VALUE ...]

STUDY: ``windows`` (Table 1 left: 1-6 windows, with and without the tuned
temperature), ``baselines`` (Table 2 left: full resolution, ViTDet, random
tokens, crop tested whole / resized / tiled, Win-Win), ``tokens`` (Table 2
right: fewer training tokens, crop + tiling vs 2 windows), ``table7``
(randomised windows, extra isolated tokens), ``posembed`` (section 4.1:
RoPE vs cosine absolute embeddings, T = 1 and tuned), ``linearhead``
(Table 9: linear head) or ``all``. Each setting is a
config of configs/ablations/, trained and evaluated per seed through
tools/train.py, tools/tune_temperature.py and tools/test.py. Finished runs
and evaluations are skipped, so an interrupted study resumes. Writes
WORK_DIR/STUDY.md, .json (mean ± std mIoU, training time, tokens per image,
test forward passes per image) and .png (mIoU vs training time). See
docs/ablations.md; the helpers are in tools/analysis_tools/ablation/.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Optional

# tools/ (the helpers) and the repository (a clone's winwin_mm) come first.
TOOLS_DIR = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [TOOLS_DIR, osp.dirname(TOOLS_DIR)]

from analysis_tools.ablation import (STUDIES, run_setting,  # noqa: E402
                                     study_plan, summarize, write_report)
from analysis_tools.ablation.runner import ToolError  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('study', choices=[*STUDIES, 'all'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations (default: the configs\' '
                        '200)')
    parser.add_argument('--settings', nargs='+', default=None,
                        help='only these settings of the study')
    parser.add_argument('--num-tune-images', type=int, default=20,
                        help='whole training images of the temperature '
                        'search')
    parser.add_argument('--work-dir', default='work_dirs/ablations')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE overrides given to every tool')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Run the study; returns the written report paths."""
    args = parse_args(argv)
    plan = study_plan(args.study)
    if args.settings:
        unknown = set(args.settings) - {n for n, _ in plan}
        if unknown:
            sys.exit(f'error: not in study {args.study}: {sorted(unknown)}; '
                     f'its settings: {[n for n, _ in plan]}')
        plan = [(n, e) for n, e in plan if n in args.settings]
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    start, results = time.time(), []
    for name, evals in plan:
        for seed in args.seeds:
            try:
                results.append(run_setting(
                    name, seed, evals, work, args.iters,
                    args.num_tune_images, args.cfg_options))
            except ToolError as e:
                sys.exit(f'error: {name} seed {seed}: {e}')
    rows = summarize(plan, results)
    paths = write_report(args.study, rows, results, work)
    with open(paths[0]) as f:
        print(f.read())
    print(f'[ablation] {args.study}: {len(results)} runs in '
          f'{time.time() - start:.0f} s; wrote {", ".join(paths)}')
    return paths


if __name__ == '__main__':
    main()
