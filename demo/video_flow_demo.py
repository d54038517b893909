"""Optical flow on a video (streamed) or a folder of frames.

Example::

    python demo/video_flow_demo.py clip.mp4 \\
        configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py \\
        work_dirs/demo_flow/iter_600.pth --out outputs/clip_flow.mp4
"""
import os.path as osp
from argparse import ArgumentParser

from winwin_mm.apis import WinWinFlowInferencer


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='video file or folder of frames')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default='outputs/flow',
                        help='video: output video file (frame | flow); '
                        'folder: output folder (flow/*.flo, vis/*.png)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--bf16', action='store_true',
                        help='bfloat16 autocast')
    parser.add_argument('--fps', type=float, default=None)
    parser.add_argument('--skip-errors', action='store_true',
                        help='log unreadable frames and go on with the rest '
                        '(default: stop at the first, keeping what is '
                        'written)')
    args = parser.parse_args()
    inferencer = WinWinFlowInferencer(args.config, args.checkpoint,
                                      device=args.device)
    if osp.isdir(args.input):
        out = inferencer(args.input, out_dir=args.out, bf16=args.bf16,
                         skip_errors=args.skip_errors)
        print(f"{len(out['predictions'])} flow(s) written to {args.out}")
        for s in out['skipped']:
            print(f"skipped {s['input']}: {s['error']}")
    else:
        n = inferencer.video(args.input, args.out, bf16=args.bf16,
                             fps=args.fps, skip_errors=args.skip_errors)
        print(f'{n} frame(s) written to {args.out}')


if __name__ == '__main__':
    main()
