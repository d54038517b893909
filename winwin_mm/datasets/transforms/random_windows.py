"""RandomWindows: sample the Win-Win training windows of one image.

Win-Win trains on a few random, non-overlapping rectangles of tokens of the
full-resolution image (paper section 3 and Appendix C / Table 7). This
transform draws them on the patch grid of the final augmented image and stores
them as pixel boxes in the format of :mod:`winwin_mm.structures.windows`.
"""
import math
from typing import List, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS

Size = Tuple[int, int]  # (h, w) in tokens


def _fmt_sizes(sizes: Sequence[Size]) -> str:
    return '[' + ', '.join(f'{h}x{w}' for h, w in sizes) + ']'


def _round(x: float) -> int:
    # Half-up rounding; numpy's round-half-to-even would bias even sides.
    return int(math.floor(x + 0.5))


def _parse_window_size(window_size) -> List[Size]:
    if isinstance(window_size, int):
        return [(window_size, window_size)]
    window_size = list(window_size)
    if len(window_size) == 2 and all(isinstance(v, int) for v in window_size):
        return [(window_size[0], window_size[1])]
    sizes = [tuple(int(v) for v in s) for s in window_size]
    if not sizes or any(len(s) != 2 for s in sizes):
        raise ValueError('window_size must be an int, an (h, w) pair or a '
                         f'list of (h, w) pairs, got {window_size}')
    return sizes


@TRANSFORMS.register_module()
class RandomWindows(BaseTransform):
    """Sample K non-overlapping windows aligned to the patch grid.

    Place it after the last geometric transform (resize, crop, flip): the
    windows live in the pixel frame of the image the model receives. Sizes
    are in tokens, written ``h x w``. Two ways to choose them:

    - fixed sizes (default): ``window_size``, e.g. the paper's default of
      ``num_windows=2, window_size=22`` (two 22x22 windows, 968 tokens);
    - a token budget: ``num_tokens`` (fixed or drawn from a range) is split
      over the windows with random shares (``size_ratio_max``) and random
      aspect ratios (``aspect_ratio_range``), as in the paper's Table 7.

    Sizes are drawn first, then the windows are placed one by one (largest
    first), each uniformly among the positions still free; sizes are drawn
    again when no free position is left. All randomness comes from numpy's
    global generator, so mmengine's ``randomness=dict(seed=...)`` makes the
    windows reproducible.

    Required Keys:

    - img (np.ndarray) and/or img_shape (tuple): when both are present the
      smaller extent is used, so windows never cover padding.

    Added Keys:

    - windows (np.ndarray): int64 ``(K, 4)`` pixel boxes ``(x1, y1, x2, y2)``,
      x2/y2 exclusive, multiples of ``patch_size``, inside the image. Add
      ``'windows'`` to ``PackSegInputs(meta_keys=...)`` to hand them to the
      model through the data sample's metainfo.
    - extra_tokens (np.ndarray): only with ``num_extra_tokens > 0``: int64
      ``(M, 4)`` pixel boxes of one patch each, distinct and outside every
      window (paper Table 7 right: isolated tokens that take part in
      attention but are dropped before the head and the loss). Add
      ``'extra_tokens'`` to the meta keys as well.

    Args:
        patch_size: Patch size of the backbone in pixels; the token grid of an
            ``H x W`` image is ``(H // patch_size) x (W // patch_size)``.
        num_windows: Number of windows K, or a set of numbers from which K is
            drawn uniformly at each call (e.g. ``(2, 3, 4)``).
        window_size: Window size in tokens: an int (square), an ``(h, w)``
            pair, or a list of ``(h, w)`` pairs, one per window (then
            ``num_windows`` must equal its length). Defaults to None, which
            means 22x22 unless ``num_tokens`` is given. Exclusive with
            ``num_tokens``.
        num_tokens: Token budget of all windows together: an int, or a
            ``(min, max)`` range from which the budget is drawn uniformly at
            each call. With a range the total is guaranteed to lie in it; with
            an int it equals the budget up to rounding each window to whole
            tokens (at most about one row or column per window).
        aspect_ratio_range: ``(min, max)`` of the width / height ratio of each
            window, drawn log-uniformly (e.g. ``(0.5, 2.0)``). None: square
            windows. Budget mode only.
        size_ratio_max: The largest window has up to this many times the
            average number of tokens per window (the paper's "up to 2");
            1 gives windows of equal size. Budget mode only.
        min_side: Smallest window side in tokens (budget mode), so that a
            small share never yields a degenerate window.
        max_tries: How many times sizes are drawn and placed before giving up
            with a ValueError.
        num_extra_tokens: Isolated tokens drawn uniformly among the tokens
            outside the windows, in ``results['extra_tokens']``. 0 (default)
            adds no key.
    """

    def __init__(self,
                 patch_size: int = 16,
                 num_windows: Union[int, Sequence[int]] = 2,
                 window_size: Union[int, Sequence[int],
                                    Sequence[Sequence[int]], None] = None,
                 num_tokens: Union[int, Sequence[int], None] = None,
                 aspect_ratio_range: Optional[Sequence[float]] = None,
                 size_ratio_max: float = 1.0,
                 min_side: int = 1,
                 max_tries: int = 100,
                 num_extra_tokens: int = 0) -> None:
        if patch_size < 1 or max_tries < 1 or min_side < 1:
            raise ValueError('patch_size, max_tries and min_side must be >= 1')
        if num_extra_tokens < 0:
            raise ValueError(f'num_extra_tokens must be >= 0, got '
                             f'{num_extra_tokens}')
        self.num_extra_tokens = int(num_extra_tokens)
        self.patch_size = int(patch_size)
        self.max_tries = int(max_tries)
        self.min_side = int(min_side)
        self.num_windows = ((int(num_windows), ) if isinstance(
            num_windows, int) else tuple(int(k) for k in num_windows))
        if not self.num_windows or min(self.num_windows) < 1:
            raise ValueError(f'num_windows must be >= 1, got {num_windows}')
        if window_size is not None and num_tokens is not None:
            raise ValueError('give either window_size or num_tokens, not both')

        self.window_size: Optional[List[Size]] = None
        self.num_tokens: Optional[Tuple[int, int]] = None
        if num_tokens is None:
            self.window_size = _parse_window_size(
                22 if window_size is None else window_size)
            if min(min(s) for s in self.window_size) < 1:
                raise ValueError(f'window sides must be >= 1, got '
                                 f'{_fmt_sizes(self.window_size)}')
            if len(self.window_size) > 1 and self.num_windows != (len(
                    self.window_size), ):
                raise ValueError(
                    f'{len(self.window_size)} window sizes given, so '
                    f'num_windows must be {len(self.window_size)}, got '
                    f'{num_windows}')
            if aspect_ratio_range is not None or size_ratio_max != 1:
                raise ValueError('aspect_ratio_range and size_ratio_max only '
                                 'apply with a token budget (num_tokens)')
        else:
            lo, hi = ((num_tokens, num_tokens) if isinstance(num_tokens, int)
                      else (int(v) for v in num_tokens))
            if not 1 <= lo <= hi:
                raise ValueError(f'num_tokens must be >= 1 or a (min, max) '
                                 f'range with min <= max, got {num_tokens}')
            self.num_tokens = (lo, hi)
        ratio = (1.0, 1.0) if aspect_ratio_range is None else tuple(
            float(r) for r in aspect_ratio_range)
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError('aspect_ratio_range must be (min, max) with '
                             f'0 < min <= max, got {aspect_ratio_range}')
        self.aspect_ratio_range = ratio
        if size_ratio_max < 1:
            raise ValueError(f'size_ratio_max must be >= 1 (1 = equal sizes), '
                             f'got {size_ratio_max}')
        self.size_ratio_max = float(size_ratio_max)

    # ---------------------------------------------------------------- checks
    def _fail(self, k: int, what: str, grid: Size, reason: str) -> NoReturn:
        h, w = grid
        p = self.patch_size
        raise ValueError(
            f'RandomWindows cannot fit {k} non-overlapping windows {what} '
            f'in a {h}x{w}-token image ({h * p}x{w * p} px at '
            f'patch size {p}): {reason}. Use smaller windows (window_size / '
            'num_tokens) or fewer windows (num_windows), or train on larger '
            'images.')

    def _check_fits(self, grid: Size) -> None:
        """Reject up front what can never fit, whatever the draw."""
        gh, gw = grid
        for k in self.num_windows:
            if self.window_size is not None:
                sizes = (self.window_size if len(self.window_size) > 1 else
                         self.window_size * k)
                what = f'of {_fmt_sizes(sizes)} tokens (h x w)'
                too_big = [s for s in sizes if s[0] > gh or s[1] > gw]
                if too_big:
                    self._fail(k, what, grid,
                               f'window {_fmt_sizes(too_big[:1])} is larger '
                               'than the image')
                area = sum(h * w for h, w in sizes)
                if area > gh * gw:
                    self._fail(k, what, grid,
                               f'{area} tokens are more than the {gh * gw} of '
                               'the image')
            else:
                lo, hi = self.num_tokens
                budget = f'{lo}' if lo == hi else f'{lo}-{hi}'
                what = f'sharing {budget} tokens (min side {self.min_side})'
                if self.min_side > min(gh, gw):
                    self._fail(k, what, grid, f'min_side {self.min_side} is '
                               'larger than the image')
                if max(lo, k * self.min_side**2) > gh * gw:
                    self._fail(k, what, grid, f'a budget of {lo} tokens is '
                               f'more than the {gh * gw} of the image')

    # -------------------------------------------------------------- sampling
    def _shares(self, k: int) -> np.ndarray:
        """Fractions of the budget per window; max/mean <= size_ratio_max."""
        if k == 1 or self.size_ratio_max == 1:
            return np.full(k, 1.0 / k)
        # Mixing equal shares with a flat Dirichlet draw bounds the largest
        # share by (1 - a) / k + a <= r / k, i.e. max/mean <= r, by design.
        a = min(1.0, (self.size_ratio_max - 1) / (k - 1))
        return (1 - a) / k + a * np.random.dirichlet(np.ones(k))

    def _rect(self, area: float) -> Optional[Size]:
        """An (h, w) of about ``area`` tokens with w/h in the ratio range."""
        lo, hi = self.aspect_ratio_range
        ratio = lo if lo == hi else math.exp(
            np.random.uniform(math.log(lo), math.log(hi)))
        h = max(self.min_side, _round(math.sqrt(area / ratio)))
        # Integer widths that keep w/h inside the range for this height.
        w_min = max(self.min_side, math.ceil(h * lo - 1e-9))
        w_max = math.floor(h * hi + 1e-9)
        if w_min > w_max:
            return None
        return h, min(max(_round(area / h), w_min), w_max)

    def _sizes(self, k: int) -> List[Optional[Size]]:
        if self.window_size is not None:
            return list(self.window_size if len(self.window_size) > 1 else
                        self.window_size * k)
        lo, hi = self.num_tokens
        total = np.random.randint(lo, hi + 1)
        return [self._rect(total * s) for s in self._shares(k)]

    def _valid(self, sizes: List[Optional[Size]], grid: Size) -> bool:
        gh, gw = grid
        if any(s is None or s[0] > gh or s[1] > gw for s in sizes):
            return False
        total = sum(h * w for h, w in sizes)
        if self.num_tokens is not None and self.num_tokens[0] < \
                self.num_tokens[1]:
            lo, hi = self.num_tokens
            return lo <= total <= hi and total <= gh * gw
        return total <= gh * gw

    @staticmethod
    def _place(sizes: List[Size], grid: Size) -> Optional[np.ndarray]:
        """Place windows uniformly among free positions; None when stuck."""
        gh, gw = grid
        occupied = np.zeros((gh, gw), dtype=np.int64)
        boxes = np.zeros((len(sizes), 4), dtype=np.int64)  # tokens
        for i in sorted(range(len(sizes)),
                        key=lambda j: -sizes[j][0] * sizes[j][1]):
            h, w = sizes[i]
            integral = np.zeros((gh + 1, gw + 1), dtype=np.int64)
            integral[1:, 1:] = occupied.cumsum(0).cumsum(1)
            # Occupied tokens under an h x w window at every top-left (y, x):
            # (gh - h + 1, gw - w + 1).
            covered = (integral[h:, w:] - integral[:gh - h + 1, w:] -
                       integral[h:, :gw - w + 1] +
                       integral[:gh - h + 1, :gw - w + 1])
            ys, xs = np.nonzero(covered == 0)
            if len(ys) == 0:
                return None
            j = np.random.randint(len(ys))
            y, x = int(ys[j]), int(xs[j])
            occupied[y:y + h, x:x + w] = 1
            boxes[i] = (x, y, x + w, y + h)
        return boxes

    @cache_randomness
    def _sample_windows(self, grid: Size) -> np.ndarray:
        """Token boxes ``(K, 4)`` as (x1, y1, x2, y2) on the token grid."""
        k = self.num_windows[np.random.randint(len(self.num_windows))]
        stuck = None  # last sizes that fit on paper but could not be placed
        for _ in range(self.max_tries):
            sizes = self._sizes(k)
            if not self._valid(sizes, grid):
                continue
            boxes = self._place(sizes, grid)
            if boxes is not None:
                return boxes
            stuck = sizes
        if stuck is not None:
            self._fail(k, f'of {_fmt_sizes(stuck)} tokens (h x w)', grid,
                       f'no free position was left in {self.max_tries} tries '
                       '(last sizes shown)')
        shown = _fmt_sizes([s or (0, 0) for s in sizes])
        self._fail(k, f'of sizes such as {shown} tokens (h x w)', grid,
                   f'none of {self.max_tries} drawn size sets fit the image '
                   'and the aspect ratio / budget range')

    @cache_randomness
    def _sample_extra_tokens(self, grid: Size,
                             boxes: np.ndarray) -> np.ndarray:
        """``num_extra_tokens`` distinct token boxes ``(M, 4)`` (token
        units) drawn uniformly outside the windows ``boxes`` (token units)."""
        gh, gw = grid
        free = np.ones((gh, gw), dtype=bool)
        for x1, y1, x2, y2 in boxes.tolist():
            free[y1:y2, x1:x2] = False
        ys, xs = np.nonzero(free)  # row-major free tokens
        m = self.num_extra_tokens
        if m > len(ys):
            raise ValueError(
                f'RandomWindows cannot draw {m} extra tokens outside the '
                f'windows: only {len(ys)} of the {gh}x{gw} tokens are free. '
                'Use fewer extra tokens (num_extra_tokens) or smaller '
                'windows.')
        pick = np.sort(np.random.choice(len(ys), m, replace=False))
        y, x = ys[pick].astype(np.int64), xs[pick].astype(np.int64)
        return np.stack([x, y, x + 1, y + 1], axis=1)  # M, 4

    # ------------------------------------------------------------- transform
    @staticmethod
    def _image_hw(results: dict) -> Size:
        shapes = []
        if 'img' in results:
            shapes.append(results['img'].shape[:2])
        if 'img_shape' in results:
            shapes.append(tuple(results['img_shape'])[:2])
        if not shapes:
            raise KeyError('RandomWindows needs results["img"] or '
                           'results["img_shape"]')
        return min(s[0] for s in shapes), min(s[1] for s in shapes)

    def transform(self, results: dict) -> dict:
        """Add ``results['windows']``, int64 ``(K, 4)`` pixel boxes."""
        h, w = self._image_hw(results)
        grid = (h // self.patch_size, w // self.patch_size)
        self._check_fits(grid)
        boxes = self._sample_windows(grid)  # K, 4 in tokens
        results['windows'] = boxes * self.patch_size
        if self.num_extra_tokens:
            results['extra_tokens'] = self._sample_extra_tokens(
                grid, boxes) * self.patch_size
        return results

    def __repr__(self) -> str:
        mode = (f'window_size={self.window_size}'
                if self.window_size is not None else
                f'num_tokens={self.num_tokens}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'size_ratio_max={self.size_ratio_max}, '
                f'min_side={self.min_side}')
        return (f'{self.__class__.__name__}(patch_size={self.patch_size}, '
                f'num_windows={self.num_windows}, {mode}, '
                f'max_tries={self.max_tries}, '
                f'num_extra_tokens={self.num_extra_tokens})')
