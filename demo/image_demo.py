"""Segmentation or depth on an image, a list of images or a folder.

Example::

    python demo/image_demo.py data/img.png \\
        configs/winwin/winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py \\
        work_dirs/demo/iter_500.pth --out-dir outputs --bf16
"""
from argparse import ArgumentParser

from winwin_mm.apis import WinWinSegInferencer


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+', help='image files or a folder')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs',
                        help='predictions in OUT/pred, pictures in OUT/vis')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--bf16', action='store_true',
                        help='bfloat16 autocast')
    parser.add_argument('--pred-format', choices=['png', 'npy'],
                        default='png')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument('--skip-errors', action='store_true',
                        help='log unreadable files and go on with the rest '
                        '(default: stop at the first, keeping what is '
                        'written)')
    args = parser.parse_args()
    inputs = args.inputs[0] if len(args.inputs) == 1 else args.inputs
    inferencer = WinWinSegInferencer(args.config, args.checkpoint,
                                     device=args.device)
    out = inferencer(inputs, batch_size=args.batch_size,
                     out_dir=args.out_dir, bf16=args.bf16,
                     pred_format=args.pred_format, opacity=args.opacity,
                     skip_errors=args.skip_errors)
    print(f"{len(out['predictions'])} prediction(s) written to "
          f'{args.out_dir}')
    for s in out['skipped']:
        print(f"skipped {s['input']}: {s['error']}")


if __name__ == '__main__':
    main()
