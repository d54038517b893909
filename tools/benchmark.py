"""Measure Win-Win's cost claims side by side on this machine.

Two suites. ``--suite cost`` (the default):
Training step (forward, backward, AdamW) of the BDD config's model at
1280x720: full resolution, Win-Win 2x22^2 windows, 1/3/4 windows, ViTDet
attention, 512x512 crops; inference: one pass vs tiling (segmentation
1280x720, flow 1920x1080). Prints a table; writes benchmark.json,
benchmark.txt and benchmark.png to --out. The report with the current
numbers: docs/benchmark.md; the helpers: tools/analysis_tools/benchmark/.

    python tools/benchmark.py                          # CPU, everything
    python tools/benchmark.py --device cuda --amp bf16
    python tools/benchmark.py --quick --out /tmp/bench # tiny sizes, seconds

``--suite inference``: throughput (images or pairs per second) of the demo
models through the inferencers: segmentation 1280x720 one pass vs mmseg
slide, flow 1920x1080 one pass vs CroCo tiling, fp32 and bf16, ONNX Runtime
vs PyTorch, and the bf16 change of mIoU / EPE on the demo data; writes
inference.json and inference.txt (docs/benchmark/inference.md).

    python tools/benchmark.py --suite inference \
        --seg-checkpoint work_dirs/demo/iter_500.pth \
        --flow-checkpoint work_dirs/demo_flow/iter_600.pth \
        --out docs/benchmark
    python tools/benchmark.py --suite inference --quick --out /tmp/inf
"""
import argparse
import os.path as osp
import sys

# tools/ (the helpers) and the repository (a clone's winwin_mm) come first.
TOOLS_DIR = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [TOOLS_DIR, osp.dirname(TOOLS_DIR)]

from analysis_tools.benchmark import ALL_BASES, run_benchmark  # noqa: E402
from analysis_tools.benchmark.inference import (  # noqa: E402
    FLOW_CONFIG, SEG_CONFIG, run_inference_benchmark)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--suite', choices=('cost', 'inference'), default='cost',
                   help='cost: training steps and one pass vs tiling of the '
                   'paper-size models (random weights); inference: '
                   'throughput of the demo models through the inferencers')
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    p.add_argument('--amp', choices=('bf16', 'fp16'), default='',
                   help='autocast dtype (fp16: CUDA only)')
    p.add_argument('--arch', choices=('s', 'b', 'l'), default='b',
                   help='ViT preset of the encoder')
    p.add_argument('--batch', type=int, default=2,
                   help='training batch besides batch 1')
    p.add_argument('--cases', nargs='+', metavar='CASE', choices=ALL_BASES,
                   help='subset to run (their references are added): '
                   + ', '.join(ALL_BASES))
    p.add_argument('--quick', action='store_true',
                   help='tiny sizes and model (tests, smoke runs)')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed training steps (default: CPU 1, CUDA 3)')
    p.add_argument('--repeats', type=int, default=None,
                   help='timed training steps, median reported (default: '
                   'CPU 2, CUDA 10)')
    p.add_argument('--warmup-infer', type=int, default=None,
                   help='untimed inference runs (default: CPU 1, CUDA 2)')
    p.add_argument('--repeats-infer', type=int, default=None,
                   help='timed inference runs (default: CPU 1, CUDA 5)')
    p.add_argument('--max-tiles', type=int, default=None,
                   help='time flow tiling on at most this many tiles and '
                   'extrapolate (default: all on CUDA, 24 on CPU; 0: all)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch threads per case (0: default)')
    p.add_argument('--peak-tflops', type=float, default=0.,
                   help="the device's peak TFLOP/s in the measured dtype "
                   '(e.g. H100 SXM bf16 dense: 989): adds the model FLOP '
                   'utilisation')
    p.add_argument('--paired', type=int, default=0, metavar='ROUNDS',
                   help='also time each training case against full '
                   'resolution in ROUNDS alternating rounds (robust to '
                   "the machine's drift; holds both steps in memory)")
    p.add_argument('--compile', action='store_true',
                   help='torch.compile every transformer block in each case '
                   '(docs/benchmark/optimisations.md)')
    p.add_argument('--out', default='work_dirs/benchmark')
    g = p.add_argument_group('--suite inference')
    g.add_argument('--seg-config', default=SEG_CONFIG)
    g.add_argument('--seg-checkpoint', default=None,
                   help='default: random weights')
    g.add_argument('--flow-config', default=FLOW_CONFIG)
    g.add_argument('--flow-checkpoint', default=None,
                   help='default: random weights')
    g.add_argument('--seg-items', type=int, default=2,
                   help='images per timed round')
    g.add_argument('--flow-items', type=int, default=1,
                   help='frame pairs per timed round')
    g.add_argument('--accuracy-samples', type=int, default=None,
                   help='demo test items for mIoU / EPE, fp32 vs bf16 (0: '
                   'all; default: all, none with --quick; -1: none)')
    g.add_argument('--no-onnx', action='store_true',
                   help='leave out the ONNX Runtime rows')
    return p.parse_args(argv)


def main(argv=None) -> None:
    a = parse_args(argv)
    if a.suite == 'inference':
        # rounds of every row; defaults as the cost suite's CPU inference
        run_inference_benchmark(
            a.out, a.device, a.quick, a.seg_config, a.seg_checkpoint,
            a.flow_config, a.flow_checkpoint, a.seg_items, a.flow_items,
            1 if a.warmup_infer is None else a.warmup_infer,
            2 if a.repeats_infer is None else a.repeats_infer,
            a.accuracy_samples, not a.no_onnx, a.threads)
        return
    run_benchmark(a.out, a.device, a.amp, a.arch, a.batch, a.quick, a.cases,
                  a.warmup, a.repeats, a.warmup_infer, a.repeats_infer,
                  a.max_tiles, a.threads, a.peak_tflops, a.paired, a.compile)


if __name__ == '__main__':
    main()
