"""Export a one-pass segmentation, depth or flow model to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \\
        [--out FILE] [--shape H W] [--opset N] [--verify]

The graph takes raw float32 pixels ``(1, 3, H, W)`` in ``[0, 255]`` (BGR,
as the configs' data preprocessors expect; flow: two such frames) of any
height and width, and returns the prediction at that size (seg ``logits``,
depth ``depth``, flow ``flow`` and ``flow_conf``): see docs/deployment.md.
``--verify`` runs ONNX Runtime and PyTorch on random inputs at the export
size and at a size that is not a multiple of the patch size, prints the
largest absolute difference per output and exits with 1 when one exceeds
``--tolerance``.
"""
import argparse
import os.path as osp
import sys
from typing import List, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from winwin_mm.apis import init_model  # noqa: E402
from winwin_mm.deployment.onnx_export import (  # noqa: E402
    DEFAULT_OPSET, OnnxRuntimeModel, export_onnx, torch_reference)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a Win-Win one-pass model to ONNX')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='output .onnx file (default: the '
                        "checkpoint's name with .onnx)")
    parser.add_argument('--shape', type=int, nargs=2, default=[352, 640],
                        metavar=('H', 'W'),
                        help='example input size traced by the exporter; '
                        'the graph takes any size')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset version')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch')
    parser.add_argument('--tolerance', type=float, default=1e-3,
                        help='largest absolute difference --verify accepts')
    parser.add_argument('--device', default='cpu',
                        help='device of the PyTorch model')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    return parser.parse_args(argv)


def verify(model, onnx_file: str, sizes: List[Tuple[int, int]],
           tolerance: float) -> bool:
    """Print the largest |ONNX Runtime - PyTorch| per output and size;
    True when every one is within ``tolerance``."""
    ort = OnnxRuntimeModel(onnx_file)
    rng = np.random.default_rng(0)
    ok = True
    for H, W in sizes:
        arrays = [rng.uniform(0, 255, (1, 3, H, W)).astype(np.float32)
                  for _ in ort.input_names]
        got = ort(*arrays)
        want = torch_reference(model, *arrays)
        for name, a, b in zip(ort.output_names, got, want):
            diff = float(np.abs(a - b).max())
            ok &= diff <= tolerance
            print(f'verify {H}x{W} {name} {tuple(a.shape)}: max abs '
                  f'difference {diff:.3g} (tolerance {tolerance:g})')
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=args.cfg_options)
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    H, W = args.shape
    export_onnx(model, None, out, (H, W), opset=args.opset)
    print(f'wrote {out} (opset {args.opset}; dynamic height and width)')
    if not args.verify:
        return 0
    # The export size and one off the patch grid (dynamic axes at work).
    if not verify(model, out, [(H, W), (H + 7, W + 13)], args.tolerance):
        print('verify: FAILED')
        return 1
    print('verify: OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
