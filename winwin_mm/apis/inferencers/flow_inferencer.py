"""Optical flow inference on frame pairs, frame folders and videos."""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmseg.structures import SegDataSample

from .base import WinWinBaseInferencer
from .common import ImageLike, read_image, stem, test_step

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.ppm')


def flow_to_bgr(flow: np.ndarray) -> np.ndarray:
    """Colour-wheel picture of ``(H, W, 2)`` flow as ``(H, W, 3)`` uint8
    BGR (mmcv's ``flow2rgb``, normalised by the largest motion)."""
    rgb = mmcv.flow2rgb(flow.astype(np.float32))
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)[..., ::-1]


class WinWinFlowInferencer(WinWinBaseInferencer):
    """One-pass optical flow with a Win-Win flow model, built on mmengine's
    ``BaseInferencer``.

    Inputs: a pair ``(frame1, frame2)`` (files or ``H x W x 3`` BGR
    arrays), a list of pairs, or a folder of frames (consecutive pairs in
    sorted order). Videos stream through :meth:`video`. Any frame size
    works: the preprocessor pads, ``postprocess_result`` crops back.

    Args:
        model: config file, ``Config`` or an already built model.
        weights: checkpoint file (``None``: the model's current weights).
        device: ``'cpu'``, ``'cuda:0'``, ...
        show_progress: show a progress bar (work done, time left).
        memory_limit: bytes an input may need (default: the device's free
            memory); larger inputs raise ``InferenceMemoryError``.

    Example:
        >>> inf = WinWinFlowInferencer('configs/winwin/winwin-flow_vit-t16-'
        ...     'rope_1xb4-600_synthetic-flow-256x384.py',
        ...     'work_dirs/demo_flow/iter_600.pth')
        >>> out = inf(('f0.png', 'f1.png'), out_dir='out')
        >>> out['predictions'][0].shape   # (H, W, 2) flow in pixels
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = {'bf16'}
    visualize_kwargs: set = {'vis_dir'}
    pred_subdir = 'flow'
    postprocess_kwargs: set = {'pred_dir'}

    def _init_visualizer(self, cfg):
        return None  # drawn with mmcv's flow2rgb in ``visualize``

    def _init_pipeline(self, cfg):
        def load(pair: Tuple[ImageLike, ImageLike]) -> dict:
            a, b = read_image(pair[0]), read_image(pair[1])
            if a.shape != b.shape:
                raise ValueError(f'the two frames differ in size: {a.shape} '
                                 f'vs {b.shape} ({pair[0]!r:.80})')
            H, W = a.shape[:2]
            meta = dict(ori_shape=(H, W), img_shape=(H, W))
            if isinstance(pair[0], str):
                meta['img_path'] = pair[0]
            inputs = torch.from_numpy(np.ascontiguousarray(
                np.concatenate([a, b], axis=2).transpose(2, 0, 1)))  # 6,H,W
            return dict(inputs=inputs,
                        data_samples=SegDataSample(metainfo=meta))
        return load

    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, str) and osp.isdir(inputs):
            frames = sorted(osp.join(inputs, f) for f in os.listdir(inputs)
                            if f.lower().endswith(IMG_EXTS))
            if len(frames) < 2:
                raise ValueError(f'{inputs} holds {len(frames)} frame(s); '
                                 'flow needs at least two')
            return list(zip(frames[:-1], frames[1:]))
        if isinstance(inputs, tuple) and len(inputs) == 2 and not isinstance(
                inputs[0], (tuple, list)):
            return [inputs]
        return list(inputs)

    def forward(self, inputs: dict, bf16: bool = False) -> list:
        return test_step(self.model, inputs, bf16, self._device,
                         self.memory_limit)

    @staticmethod
    def _flow(sample: SegDataSample) -> np.ndarray:
        """``(H, W, 2)`` float32 (u, v) in pixels."""
        return sample.pred_flow.data.permute(1, 2, 0).float().cpu().numpy()

    def visualize(self, inputs: list, preds: List[SegDataSample],
                  vis_dir: str = '',
                  indices: Optional[Sequence[int]] = None
                  ) -> Optional[List[np.ndarray]]:
        """First frame and flow colour wheel side by side (BGR uint8),
        written to ``out_dir/vis`` if given (arrays named by their
        ``indices`` in the call's inputs)."""
        if not vis_dir:
            return None
        vis = []
        indices = indices or range(len(inputs))
        for i, pair, sample in zip(indices, inputs, preds):
            drawn = np.concatenate(
                [read_image(pair[0]), flow_to_bgr(self._flow(sample))], 1)
            mmcv.imwrite(drawn, osp.join(vis_dir,
                                         stem(pair[0], i) + '.png'))
            vis.append(drawn)
        return vis

    def postprocess(self, preds: List[SegDataSample], visualization,
                    return_datasamples: bool = False, pred_dir: str = '',
                    indices: Optional[Sequence[int]] = None) -> dict:
        """``predictions``: ``(H, W, 2)`` flows (or the data samples);
        written to ``out_dir/flow/*.flo`` if given."""
        flows = [self._flow(s) for s in preds]
        if pred_dir:
            os.makedirs(pred_dir, exist_ok=True)
            for i, s, f in zip(indices or range(len(preds)), preds, flows):
                name = stem(s.metainfo.get('img_path'), i) + '.flo'
                mmcv.flowwrite(f, osp.join(pred_dir, name))
        return dict(predictions=preds if return_datasamples else flows,
                    visualization=visualization)

    def video(self, video: str, out_file: str, bf16: bool = False,
              fps: Optional[float] = None,
              skip_errors: bool = False) -> int:
        """Stream a video: frames are read one at a time, each consecutive
        pair's flow is computed and the frame | flow colour picture is
        appended to ``out_file`` at once, so memory does not grow with the
        video's length and frames already written survive a later failure.

        Args:
            video: input video file (anything OpenCV reads).
            out_file: output video (``.mp4``: mp4v, else MJPG), frame |
                flow side by side, padded to even height and width.
            bf16: bfloat16 autocast.
            fps: output frame rate (default: the input's).
            skip_errors: a frame that cannot be decoded before the
                container's frame count is reached is logged (video, frame
                index) and skipped: the next pair joins the frames around
                it. ``False``: it raises ``ValueError`` (the output frames
                written so far stay in ``out_file``).

        Returns:
            The number of output frames (input frames - 1 - skipped).
        """
        reader = mmcv.VideoReader(video)
        if reader.frame_cnt is not None and reader.frame_cnt < 2:
            raise ValueError(f'{video} has {reader.frame_cnt} frame(s); '
                             'flow needs at least two')
        fps = fps or reader.fps or 10
        writer = None
        written = 0
        prev = reader.read()
        if prev is None:
            raise ValueError(f'cannot read a frame from {video}')
        total = max(reader.frame_cnt - 1, 1)
        bar = ProgressBar(total) if self.show_progress else None
        skipped = []
        try:
            for index in range(1, reader.frame_cnt):
                cur = reader.read()
                if bar is not None:
                    bar.update()
                if cur is None:
                    msg = (f'cannot decode frame {index} of {video} '
                           f'({reader.frame_cnt} frames announced)')
                    if not skip_errors:
                        raise ValueError(msg + f'; {written} output '
                                         f'frame(s) written to {out_file}')
                    print_log('skipped: ' + msg, 'current', 30)
                    skipped.append(index)
                    reader._position += 1  # the reader stays put otherwise
                    continue
                data = self.collate_fn([self.pipeline((prev, cur))])
                flow = self._flow(self.forward(data, bf16=bf16)[0])
                frame = np.concatenate([prev, flow_to_bgr(flow)], axis=1)
                # video codecs need even sizes: pad (black) rather than
                # let the codec drop the last row / column
                frame = np.pad(frame, ((0, frame.shape[0] % 2),
                                       (0, frame.shape[1] % 2), (0, 0)))
                if writer is None:
                    import cv2
                    os.makedirs(osp.dirname(osp.abspath(out_file)),
                                exist_ok=True)
                    fourcc = 'mp4v' if out_file.endswith('.mp4') else 'MJPG'
                    writer = cv2.VideoWriter(
                        out_file, cv2.VideoWriter_fourcc(*fourcc), fps,
                        (frame.shape[1], frame.shape[0]))
                writer.write(frame)
                written += 1
                prev = cur
        finally:
            if writer is not None:
                writer.release()
        if skipped:
            print_log(f'{len(skipped)} frame(s) of {video} skipped: '
                      f'{skipped}', 'current', 30)
        return written
