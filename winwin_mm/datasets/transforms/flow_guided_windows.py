"""FlowGuidedWindows: Win-Win's binocular window sampling (paper App. B).

Frame 1 gets N random windows (:class:`RandomWindows`). Frame 2 gets M
windows where frame 1's window pixels go: the ground-truth flow endpoints of
those pixels are binned per token of frame 2, the bins are perturbed with
Gaussian noise (std = ``stochasticity`` x the std of the binned map, so the
network is not handed the answer), and M non-overlapping windows with the
largest sums are picked greedily.

With one-token windows (``window_size=1``, many windows) it is the
uniform random-token baseline of the paper's Table 8: isolated tokens drawn
uniformly in frame 1, and in frame 2 the ``M`` tokens with the most
(perturbed) endpoint votes (:func:`top_tokens`), in the same
``(x1, y1, x2, y2)`` box format; train it with a per-token head
(``TokenLinearHead``).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from .flow_geometric import pair_hw
from .flow_resize import flow_valid_np
from .random_windows import RandomWindows

Size = Tuple[int, int]  # (h, w) in tokens
MODES = ('flow_guided', 'same', 'random')


def bin_flow_endpoints(flow: np.ndarray, valid: Optional[np.ndarray],
                       windows: np.ndarray, grid: Size,
                       patch_size: int) -> np.ndarray:
    """Per token of frame 2, how many frame-1 window pixels land in it.

    The endpoint of pixel ``(x, y)`` is its centre moved by the flow,
    ``(x + 0.5 + u, y + 0.5 + v)``; only valid ground truth counts, and
    endpoints outside frame 2's token grid (out of view) are dropped.

    Args:
        flow: ``(H, W, 2)`` forward flow of frame 1.
        valid: ``(H, W)`` mask or None.
        windows: ``(N, 4)`` frame-1 pixel boxes ``(x1, y1, x2, y2)``.
        grid: ``(gh, gw)`` token grid of frame 2.
        patch_size: token size in pixels.

    Returns:
        ``(gh, gw)`` float64 counts.
    """
    gh, gw = grid
    counts = np.zeros(gh * gw, np.float64)
    for x1, y1, x2, y2 in np.asarray(windows).tolist():
        crop = flow[y1:y2, x1:x2]  # only the window's pixels are checked
        ok = flow_valid_np(crop, None if valid is None else
                           valid[y1:y2, x1:x2])  # h, w
        ys, xs = np.nonzero(ok)
        uv = crop[ys, xs]  # n, 2
        tx = np.floor((xs + x1 + 0.5 + uv[:, 0]) / patch_size)
        ty = np.floor((ys + y1 + 0.5 + uv[:, 1]) / patch_size)
        inside = (tx >= 0) & (tx < gw) & (ty >= 0) & (ty < gh)
        idx = (ty[inside] * gw + tx[inside]).astype(np.int64)
        counts += np.bincount(idx, minlength=gh * gw)
    return counts.reshape(gh, gw)


def window_sums(score: np.ndarray, size: Size) -> np.ndarray:
    """Sum of ``score`` under an ``h x w`` window at every top-left
    position, from an integral image: ``(gh - h + 1, gw - w + 1)``."""
    gh, gw = score.shape
    h, w = size
    integral = np.zeros((gh + 1, gw + 1), np.float64)
    integral[1:, 1:] = score.cumsum(0).cumsum(1)
    return (integral[h:, w:] - integral[:gh - h + 1, w:] -
            integral[h:, :gw - w + 1] + integral[:gh - h + 1, :gw - w + 1])


def greedy_windows(score: np.ndarray, size: Size,
                   num: int) -> Optional[np.ndarray]:
    """Pick ``num`` non-overlapping ``h x w`` windows with the largest sums.

    Each pick takes the best position still allowed (ties: the first in
    row-major order), then forbids every position overlapping it.

    Args:
        score: ``(gh, gw)`` per-token scores.
        size: ``(h, w)`` window size in tokens.
        num: number of windows.

    Returns:
        int64 ``(num, 4)`` token boxes ``(x1, y1, x2, y2)`` in pick order, or
        None when the picks left no room for the next window.
    """
    h, w = size
    sums = window_sums(score, size)  # gh - h + 1, gw - w + 1
    free = np.ones(sums.shape, bool)
    boxes = []
    for _ in range(num):
        if not free.any():
            return None
        y, x = np.unravel_index(np.argmax(np.where(free, sums, -np.inf)),
                                sums.shape)
        boxes.append((x, y, x + w, y + h))
        # Top-left positions whose window would overlap this one.
        free[max(0, y - h + 1):y + h, max(0, x - w + 1):x + w] = False
    return np.array(boxes, np.int64).reshape(-1, 4)


def top_tokens(score: np.ndarray, num: int) -> np.ndarray:
    """The ``num`` tokens with the largest scores as ``1 x 1`` boxes.

    What :func:`greedy_windows` picks for one-token windows, except that
    ties are broken uniformly at random rather than in row-major order:
    with few votes (no noise, or frame-1 tokens landing on few frame-2
    tokens) the remaining picks are then uniform random tokens, not the
    top-left corner of the frame.

    Args:
        score: ``(gh, gw)`` per-token scores.
        num: number of tokens, at most ``gh * gw``.

    Returns:
        int64 ``(num, 4)`` token boxes ``(x1, y1, x2, y2)``, best first.
    """
    gh, gw = score.shape
    if not 0 < num <= gh * gw:
        raise ValueError(f'cannot pick {num} distinct tokens of a '
                         f'{gh}x{gw} grid')
    flat = score.reshape(-1)  # gh*gw
    # lexsort: the last key is the primary one (descending score).
    order = np.lexsort((np.random.random(flat.size), -flat))[:num]
    y, x = np.divmod(order, gw)
    return np.stack([x, y, x + 1, y + 1], axis=1).astype(np.int64)


@TRANSFORMS.register_module()
class FlowGuidedWindows(BaseTransform):
    """N random windows in frame 1, M flow-guided windows in frame 2.

    Place it after the last geometric transform. Frame-1 windows are drawn
    by :class:`RandomWindows` (``num_windows``, ``window_size`` and any of its
    other options through ``random_windows_kwargs``). Frame-2 windows by
    ``mode`` (the paper's Table 3 ablation):

    - ``'flow_guided'``: the frame-1 window pixels' ground-truth flow
      endpoints that land in frame 2 are counted per token
      (:func:`bin_flow_endpoints`), Gaussian noise with std
      ``stochasticity`` x std of the counts is added (centred on their
      mean, as in the paper; a constant offset does not change the choice
      since all frame-2 windows have one size), and ``num_windows2`` windows
      of ``window_size2`` are picked greedily by largest sum
      (:func:`greedy_windows`; one-token windows: :func:`top_tokens`,
      ties at random). With no valid endpoint in frame 2 (all out
      of view or no valid GT), or when the greedy picks leave no room, the
      frame-2 windows are placed at random as in ``'random'``.
    - ``'same'``: frame 2 gets the frame-1 windows.
    - ``'random'``: frame 2 gets its own :class:`RandomWindows` draw.

    Random tokens (paper Table 8, Appendix C): ``window_size=1`` with
    ``num_windows=200`` draws 200 distinct tokens uniformly in frame 1;
    ``window_size2=1`` with ``num_windows2=200`` picks 200 tokens of frame 2
    by ``mode`` (the paper's "Random (200 tokens)" frame-2 masking is
    ``'flow_guided'`` with its stochasticity). Either frame may keep
    windows instead (the table's mixed rows).

    All randomness comes from numpy's global generator (mmengine's seed).

    Required keys: ``img``, ``img2``; ``gt_flow`` (and optional
    ``gt_flow_valid``) at the image size for ``'flow_guided'``.

    Added keys: ``windows`` (frame 1) and ``windows2`` (frame 2), int64
    ``(N, 4)`` / ``(M, 4)`` pixel boxes ``(x1, y1, x2, y2)`` aligned to the
    patch grid (:mod:`winwin_mm.structures.windows`); list both in
    ``PackFlowInputs(meta_keys=...)`` (its default does).

    Args:
        patch_size: patch size of the backbone in pixels.
        num_windows: N (or a set to draw from, see :class:`RandomWindows`).
        window_size: frame-1 window size in tokens (int, ``(h, w)``, or one
            per window); None with ``num_tokens`` in the kwargs.
        num_windows2: M; None = N (must be None for ``'same'``).
        window_size2: frame-2 window size in tokens, an int or ``(h, w)``;
            None = the frame-1 size (must be None for ``'same'``).
        stochasticity: noise std as a ratio of the binned map's std (paper:
            0.2-0.4; 0 = purely flow-driven).
        mode: ``'flow_guided'``, ``'same'`` or ``'random'``.
        **random_windows_kwargs: other :class:`RandomWindows` options for
            frame 1 (``num_tokens``, ``aspect_ratio_range``, ...).
    """

    def __init__(self,
                 patch_size: int = 16,
                 num_windows: Union[int, Sequence[int]] = 2,
                 window_size: Union[int, Sequence[int], None] = 16,
                 num_windows2: Optional[int] = None,
                 window_size2: Union[int, Sequence[int], None] = None,
                 stochasticity: float = 0.3,
                 mode: str = 'flow_guided',
                 **random_windows_kwargs) -> None:
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if stochasticity < 0:
            raise ValueError(f'stochasticity must be >= 0, got '
                             f'{stochasticity}')
        self.mode = mode
        self.stochasticity = float(stochasticity)
        self.patch_size = int(patch_size)
        self.frame1 = RandomWindows(patch_size=patch_size,
                                    num_windows=num_windows,
                                    window_size=window_size,
                                    **random_windows_kwargs)
        self.frame2: Optional[RandomWindows] = None
        if mode == 'same':
            if num_windows2 is not None or window_size2 is not None:
                raise ValueError("mode='same' reuses the frame-1 windows: "
                                 'leave num_windows2 and window_size2 unset')
            return
        if num_windows2 is None:
            if len(self.frame1.num_windows) != 1:
                raise ValueError('num_windows is drawn from a set: give '
                                 'num_windows2 explicitly')
            num_windows2 = self.frame1.num_windows[0]
        if window_size2 is None:
            sizes = self.frame1.window_size
            if sizes is None or len(set(sizes)) != 1:
                raise ValueError('frame-1 windows have no single fixed size: '
                                 'give window_size2 explicitly')
            window_size2 = sizes[0]
        self.frame2 = RandomWindows(patch_size=patch_size,
                                    num_windows=int(num_windows2),
                                    window_size=window_size2)
        if len(self.frame2.window_size) != 1:
            raise ValueError('window_size2 must be an int or one (h, w) pair, '
                             f'got {window_size2}')

    @staticmethod
    def _draw(sampler: RandomWindows, hw: Size, frame: str) -> np.ndarray:
        """Random pixel boxes, with errors that name the frame."""
        try:
            return sampler.transform({'img_shape': hw})['windows']
        except ValueError as e:
            raise ValueError(f'FlowGuidedWindows, {frame}: {e}') from None

    def _guided(self, results: dict, windows: np.ndarray,
                hw: Size) -> np.ndarray:
        if 'gt_flow' not in results:
            raise KeyError("FlowGuidedWindows(mode='flow_guided') needs "
                           "results['gt_flow'] (load it with LoadFlowPair)")
        p = self.patch_size
        grid = (hw[0] // p, hw[1] // p)
        size = self.frame2.window_size[0]
        num = self.frame2.num_windows[0]
        try:  # clear error for what can never fit
            self.frame2._check_fits(grid)
        except ValueError as e:
            raise ValueError(f'FlowGuidedWindows, frame 2: {e}') from None
        counts = bin_flow_endpoints(results['gt_flow'],
                                    results.get('gt_flow_valid'), windows,
                                    grid, p)
        if counts.sum() == 0:  # nothing lands in view: no guidance
            return self._draw(self.frame2, hw, 'frame 2')
        std = self.stochasticity * counts.std()
        score = counts
        if std > 0:
            score = counts + np.random.normal(counts.mean(), std, counts.shape)
        if tuple(size) == (1, 1):  # random-token mode: top votes
            return top_tokens(score, num) * p
        boxes = greedy_windows(score, size, num)
        if boxes is None:  # greedy painted itself into a corner
            return self._draw(self.frame2, hw, 'frame 2')
        return boxes * p

    def transform(self, results: dict) -> dict:
        """Add ``results['windows']`` and ``results['windows2']``."""
        pair_hw(results, type(self).__name__)
        hw = RandomWindows._image_hw(results)
        windows = self._draw(self.frame1, hw, 'frame 1')
        if self.mode == 'same':
            windows2 = windows.copy()
        elif self.mode == 'random':
            windows2 = self._draw(self.frame2, hw, 'frame 2')
        else:
            windows2 = self._guided(results, windows, hw)
        results['windows'] = windows
        results['windows2'] = windows2.astype(np.int64)
        return results

    def __repr__(self) -> str:
        f2 = ('same' if self.frame2 is None else
              f'num_windows2={self.frame2.num_windows[0]}, '
              f'window_size2={self.frame2.window_size[0]}')
        return (f'{type(self).__name__}(mode={self.mode!r}, '
                f'stochasticity={self.stochasticity}, frame1={self.frame1!r}, '
                f'{f2})')
