"""1-D searches for the best temperature multiplier (pure functions).

The full-resolution training loss as a function of the multiplier is
bell-shaped with one minimum (paper, Appendix E, Figure 8). The paper sweeps
a grid with step 0.02 (61 points on [0.8, 2.0]); :func:`brent_search` finds
the same grid point of a unimodal curve with about 6-9 evaluations.
"""
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

Objective = Callable[[float], float]
_GOLDEN = 0.381966  # 2 - golden ratio: share of a gap taken by a golden step


class CachedFunction:
    """Memoise ``fn`` by argument (rounded to 1e-6) and count real calls.

    Args:
        fn: the function of one float to minimise.
    """

    def __init__(self, fn: Objective) -> None:
        self.fn = fn
        self.cache: Dict[float, float] = {}

    def __call__(self, x: float) -> float:
        key = round(float(x), 6)
        if key not in self.cache:
            self.cache[key] = float(self.fn(key))
        return self.cache[key]

    @property
    def num_evaluations(self) -> int:
        return len(self.cache)

    def curve(self) -> List[Tuple[float, float]]:
        """Evaluated ``(x, f(x))`` pairs, sorted by x."""
        return sorted(self.cache.items())


def grid_values(lo: float, hi: float, step: float) -> List[float]:
    """Inclusive grid ``lo, lo + step, ..., <= hi``, free of float drift.

    Args:
        lo: first value.
        hi: last value (included when on the grid).
        step: spacing, > 0.
    """
    if step <= 0 or hi < lo:
        raise ValueError(f'bad grid ({lo}, {hi}, {step}): need step > 0 '
                         'and hi >= lo')
    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
    return [round(lo + i * step, 10) for i in range(n)]


def grid_sweep(f: Objective, values: Sequence[float]) -> Tuple[float, float]:
    """Evaluate every value; return ``(argmin, min)`` (first one on ties).

    Args:
        f: the function to minimise.
        values: candidate arguments.
    """
    best = min(values, key=f)
    return best, f(best)


def _parabola_vertex(pts: Sequence[Tuple[int, float]]) -> Optional[float]:
    """Abscissa of the vertex of the parabola through three points."""
    (a, fa), (b, fb), (c, fc) = pts
    den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
    if den == 0:
        return None
    return b - 0.5 * ((b - a) ** 2 * (fb - fc) - (b - c) ** 2 *
                      (fb - fa)) / den


def _next_probe(seen: Dict[int, float], lo: int, hi: int,
                widths: List[int]) -> Optional[int]:
    """The next grid index to evaluate, or None once the best evaluated
    index is certified: both grid neighbours evaluated and not lower."""
    b = min(seen, key=lambda i: (seen[i], i))
    left = [i for i in seen if i < b]
    right = [i for i in seen if i > b]
    # Not bracketed yet: walk downhill with doubling strides.
    if not left and b > lo:
        return max(lo, b - 2 * ((min(right) - b) if right else 1))
    if not right and b < hi:
        return min(hi, b + 2 * ((b - max(left)) if left else 1))
    L, R = (max(left) if left else b), (min(right) if right else b)
    if b - L <= 1 and R - b <= 1:
        return None
    widths.append(R - L)
    # Brent's safeguard: parabolic steps only while the bracket shrinks
    # fast enough (halving every two steps), else golden-section steps.
    stalled = len(widths) >= 3 and widths[-1] > 0.5 * widths[-3]
    x = None
    if L < b < R and not stalled:
        x = _parabola_vertex([(L, seen[L]), (b, seen[b]), (R, seen[R])])
    if x is not None and L < round(x) < R:
        j = int(round(x))
        if j not in seen:
            return j
        # The vertex is on a known point: check b's neighbour on its side.
        side = 1 if x >= b else -1
        for j in (b + side, b - side):
            if L < j < R and j not in seen:
                return j
    # Golden-section step into the larger gap next to b.
    if b - L > R - b:
        return b - max(1, int(round((b - L) * _GOLDEN)))
    return b + max(1, int(round((R - b) * _GOLDEN)))


def brent_search(f: Objective, values: Sequence[float],
                 start: Optional[float] = None,
                 span: Optional[int] = None) -> Tuple[float, float]:
    """Minimum of a unimodal ``f`` over a sorted grid, with few evaluations.

    Brent-like: successive parabolic interpolation through the best point
    and its evaluated neighbours, golden-section steps when the parabola is
    unusable or the bracket stops shrinking; it stops when the best grid
    point's two neighbours are evaluated and not lower. For a unimodal
    ``f`` that is exactly the grid sweep's minimum. Wrap ``f`` in
    :class:`CachedFunction` to count the evaluations.

    Args:
        f: the function to minimise (called with grid values only).
        values: sorted candidate arguments, e.g. :func:`grid_values`.
        start: first guess (e.g. the analytic multiplier); default: the
            middle of the grid.
        span: grid steps between the three first probes (default n // 8).

    Returns:
        ``(argmin, min)`` among the evaluated grid values.
    """
    values = list(values)
    n = len(values)
    if n == 0:
        raise ValueError('empty grid')
    seen: Dict[int, float] = {}

    def probe(i: int) -> None:
        if i not in seen:
            seen[i] = f(values[i])

    i0 = n // 2 if start is None else min(
        range(n), key=lambda i: abs(values[i] - start))
    span = span or max(1, n // 8)
    for i in (i0 - span, i0, i0 + span):
        probe(min(n - 1, max(0, i)))
    widths: List[int] = []
    while True:
        j = _next_probe(seen, 0, n - 1, widths)
        if j is None:
            break
        probe(j)
    best = min(seen, key=lambda i: (seen[i], i))
    return values[best], seen[best]
