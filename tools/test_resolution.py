"""Test-resolution study (paper Figure 5): mIoU of several models on
crops of several sizes.

    python tools/test_resolution.py \
        --model 'Win-Win' CONFIG CHECKPOINT \
        --model 'crop 112' CONFIG CHECKPOINT 112x112 \
        --model 'full-res.' CONFIG CHECKPOINT 176x320 \
        --sizes 64 96 112 176 176x320 --out-dir work_dirs/test_resolution \
        [--crops center|grid]

Each ``--model`` is a label, a config, a checkpoint and, for a model
trained at one size (crop or whole image), that size (HxW pixels): those
models draw the 'trained at the test size' reference line at their own
size. Each (model, size) is one run of the config's test loop (its model,
test mode, checkpoint temperature, metric) on HxW crops of the test
images: ``--crops center`` (default) the central crop of each image
(``TestCenterCrop``); ``--crops grid`` the paper's protocol, every image
tiled with crops of the size (``GridCropDataset``: ceil(H/h) x ceil(W/w)
crops, the last row/column at the border), each crop one test sample. Writes OUT_DIR/test_resolution.json and
.png. See docs/test_resolution.md; helpers in
tools/analysis_tools/test_resolution/.
"""
import argparse
import os
import os.path as osp
import sys

TOOLS_DIR = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [TOOLS_DIR, osp.dirname(TOOLS_DIR)]

from mmengine.config import DictAction  # noqa: E402

import winwin_mm  # noqa: E402,F401
from analysis_tools.test_resolution import (CROPS,  # noqa: E402
                                            ModelSpec, parse_size,
                                            plot_study, run_study)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', nargs='+', action='append', required=True,
                        metavar='LABEL CONFIG CHECKPOINT [HxW]')
    parser.add_argument('--sizes', nargs='+', required=True,
                        help='test crops: S (square) or HxW pixels')
    parser.add_argument('--out-dir', default='work_dirs/test_resolution')
    parser.add_argument('--crops', default='center', choices=CROPS,
                        help='the central crop of each test image, or the '
                        'grid of crops tiling it (the paper)')
    parser.add_argument('--title', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    specs = []
    for entry in args.model:
        if len(entry) not in (3, 4):
            raise SystemExit(f'--model {entry}: give LABEL CONFIG CHECKPOINT '
                             '[HxW]')
        size = parse_size(entry[3]) if len(entry) == 4 else None
        specs.append(ModelSpec(entry[0], entry[1], entry[2], size))
    sizes = [parse_size(s) for s in args.sizes]
    os.makedirs(args.out_dir, exist_ok=True)
    study = run_study(specs, sizes, args.out_dir,
                      osp.join(args.out_dir, 'test_resolution.json'),
                      args.cfg_options, args.crops)
    plot_study(study, osp.join(args.out_dir, 'test_resolution.png'),
               args.title)
    for entry in study['models']:
        print(entry['label'], ' '.join(f'{k}: {v:.2f}'
                                       for k, v in entry['miou'].items()))
    print('written', osp.join(args.out_dir, 'test_resolution.json'))


if __name__ == '__main__':
    main()
