"""Measure Win-Win's cost claims side by side on this machine.

Training step (forward, backward, AdamW) of the BDD config's model at
1280x720: full resolution, Win-Win 2x22^2 windows, 1/3/4 windows, ViTDet
attention, 512x512 crops; inference: one pass vs tiling (segmentation
1280x720, flow 1920x1080). Prints a table; writes benchmark.json,
benchmark.txt and benchmark.png to --out. The report with the current
numbers: docs/benchmark.md; the helpers: tools/analysis_tools/benchmark/.

    python tools/benchmark.py                          # CPU, everything
    python tools/benchmark.py --device cuda --amp bf16
    python tools/benchmark.py --quick --out /tmp/bench # tiny sizes, seconds
"""
import argparse
import os.path as osp
import sys

# tools/ (the helpers) and the repository (a clone's winwin_mm) come first.
TOOLS_DIR = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [TOOLS_DIR, osp.dirname(TOOLS_DIR)]

from analysis_tools.benchmark import ALL_BASES, run_benchmark  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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
    p.add_argument('--out', default='work_dirs/benchmark')
    return p.parse_args(argv)


def main(argv=None) -> None:
    a = parse_args(argv)
    run_benchmark(a.out, a.device, a.amp, a.arch, a.batch, a.quick, a.cases,
                  a.warmup, a.repeats, a.warmup_infer, a.repeats_infer,
                  a.max_tiles, a.threads, a.peak_tflops, a.paired)


if __name__ == '__main__':
    main()
