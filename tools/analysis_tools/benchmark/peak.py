"""The machine's matrix-product peak, the limit each case's FLOP rate is
compared against (``peak_fraction``).

Measured by the tool itself, in the parent process on the same number of
torch threads the cases use: the best rate of a large square ``mm`` in fp32
and in bf16 (``torch.mm`` on bf16 tensors: the oneDNN / cuBLAS kernel that
autocast dispatches to). The best of several repeats, because the machine's
other load only ever slows a run down.
"""
import sys
import time
from typing import Dict

import torch


def matmul_flops(n: int) -> float:
    """FLOPs of one ``n x n @ n x n`` product: 2 per multiply-add."""
    return 2. * n ** 3


def matmul_peak(device: str = 'cpu', dtype: torch.dtype = torch.float32,
                n: int = 2048, repeats: int = 5) -> float:
    """Best achieved TFLOP/s of ``repeats`` ``n x n`` products.

    Args:
        device: ``'cpu'`` or ``'cuda'``.
        dtype: ``torch.float32`` or ``torch.bfloat16``.
        n: matrix side (2048: large enough that the kernel, not the call,
            sets the rate on a CPU; use 8192 on a GPU).
        repeats: timed products after one warm-up product.
    """
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    torch.mm(a, b)
    sync()
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - t0)
    return matmul_flops(n) / best / 1e12


def measure_peaks(device: str, threads: int = 0) -> Dict:
    """Peak TFLOP/s in fp32 and bf16 on ``threads`` torch threads (0:
    torch's default, as the cases), with the matrix side used. The
    caller's thread count is restored (run_ab calls this in-process)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        n = 8192 if device == 'cuda' else 2048
        return dict(fp32=matmul_peak(device, torch.float32, n),
                    bf16=matmul_peak(device, torch.bfloat16, n),
                    matmul_n=n, threads=torch.get_num_threads())
    finally:
        torch.set_num_threads(before)


def best_peaks(*measured: Dict) -> Dict:
    """The best of several :func:`measure_peaks` results, per precision.

    A run measures the peak before and after its cases: a neighbour's load
    during one short measurement (a 2048² product takes a tenth of a
    second) once gave a peak 36 % low, and every fraction above 100 %.
    Load only slows a product down, so the higher rate is the machine's.
    Both rates stay in the result (``fp32_samples``, ``bf16_samples``).

    Args:
        measured: results of :func:`measure_peaks` on the same device,
            matrix side and thread count.
    """
    if not measured:
        raise ValueError('best_peaks needs at least one measurement')
    keys = {(m['matmul_n'], m['threads']) for m in measured}
    if len(keys) != 1:
        raise ValueError(f'peaks measured with different matrix sides or '
                         f'thread counts cannot be combined: {sorted(keys)}')
    best = dict(measured[0])
    for precision in ('fp32', 'bf16'):
        samples = [s for m in measured
                   for s in m.get(f'{precision}_samples', [m[precision]])]
        best[precision] = max(samples)
        best[f'{precision}_samples'] = samples
    return best


def remeasure_peaks(peaks: Dict, device: str, threads: int = 0) -> Dict:
    """Measure again (after a run's cases) and keep the best of all
    measurements (:func:`best_peaks`), reporting both to stderr.

    Args:
        peaks: the earlier result (of :func:`measure_peaks` or of this).
        device: ``'cpu'`` or ``'cuda'``, as the earlier measurement.
        threads: torch threads, as the earlier measurement (0: default).
    """
    best = best_peaks(peaks, measure_peaks(device, threads))
    print(f'matrix-product peak measured again: fp32 '
          f'{best["fp32_samples"][-1]:.3f}, bf16 '
          f'{best["bf16_samples"][-1]:.3f} TFLOP/s; using the best: fp32 '
          f'{best["fp32"]:.3f}, bf16 {best["bf16"]:.3f}',
          file=sys.stderr, flush=True)
    return best


def peak_fraction(flops: float, time_s: float, peak_tflops: float) -> float:
    """Achieved FLOP rate over the peak: ``flops / time_s / (peak * 1e12)``.

    Args:
        flops: analytic FLOPs of one repetition of the case.
        time_s: its measured time.
        peak_tflops: the measured matrix-product peak of its precision.
    """
    if time_s <= 0 or peak_tflops <= 0:
        raise ValueError(f'time {time_s} s and peak {peak_tflops} TFLOP/s '
                         'must be positive')
    return flops / time_s / (peak_tflops * 1e12)
