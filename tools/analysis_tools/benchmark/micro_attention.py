"""Kernel-level timings of the attention of one ViT-B block at the Win-Win
benchmark size (2 windows of 22x22 tokens: B=1, H=12, N=968, D=64),
forward + backward, fp32 and bf16, best of 5 in this process::

    PYTHONPATH=tools python -m analysis_tools.benchmark.micro_attention

- SDPA without a mask, with an all-True boolean padding mask (does the
  masked call leave the fused kernel?) and the explicit softmax path;
- RoPE on q and k: the current ``apply_rope_2d`` against a candidate
  (``addcmul`` with the sign folded into the sin table: fewer passes over
  q and k), alternated over 8 rounds, with each one's error against
  float64;
- the qkv projection's matrix-product rate, for scale.
"""
import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from winwin_mm.models.layers.rope import apply_rope_2d, rope_2d_tables



def candidate_rope(x, cos, sin):
    """``x cos + swap(x) signed_sin`` (one stack, one product, one fused
    multiply-add; the sign on the H-times smaller table). Not adopted:
    slower than ``apply_rope_2d`` at this size (docs/benchmark/
    optimisations.md)."""
    y = x.unflatten(-1, (2, 2, -1))  # ..., {y,x}, {u,v}, d/2
    swapped = torch.stack((y[..., 1, :], y[..., 0, :]), -2).flatten(-3)
    s = sin.unflatten(-1, (2, 2, -1))
    signed = torch.stack((-s[..., 0, :], s[..., 1, :]), -2).flatten(-3)
    return torch.addcmul(x * cos, swapped, signed).to(x.dtype)


def best_ms(fn: Callable[[], None], n: int = 5) -> float:
    """Best of ``n`` runs after one warm-up, in milliseconds."""
    fn()
    best = float('inf')
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--grid', type=int, nargs=2, default=(22, 44),
                   help='token grid (two 22x22 windows side by side)')
    p.add_argument('--heads', type=int, default=12)
    p.add_argument('--head-dim', type=int, default=64)
    a = p.parse_args(argv)
    B, H, D = 1, a.heads, a.head_dim
    N = a.grid[0] * a.grid[1]
    torch.manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(a.grid[0]),
                            torch.arange(a.grid[1]), indexing='ij')
    pos = torch.stack([ys, xs], -1).reshape(1, -1, 2)  # 1, N, 2
    attn_gflop = 4 * N * N * D * H * 3 / 1e9  # fwd + bwd (3x fwd)
    for dt in (torch.float32, torch.bfloat16):
        q, k, v = (torch.randn(B, H, N, D, dtype=dt, requires_grad=True)
                   for _ in range(3))
        g = torch.randn(B, H, N, D, dtype=dt)
        mask = torch.ones(B, 1, 1, N, dtype=torch.bool)

        def sdpa(m=None):
            def f():
                F.scaled_dot_product_attention(
                    q, k, v, attn_mask=m, scale=D ** -0.5).backward(g)
            return f

        def explicit():
            a = (q @ k.transpose(-1, -2) * D ** -0.5).softmax(-1)
            (a @ v).backward(g)

        t = best_ms(sdpa())
        print(f'{dt}: SDPA fwd+bwd ms: no mask {t:.1f} '
              f'({attn_gflop / t:.3f} TFLOP/s), bool mask '
              f'{best_ms(sdpa(mask)):.1f}, explicit softmax '
              f'{best_ms(explicit):.1f}', flush=True)
        tables = (dt, torch.float32) if dt != torch.float32 else (dt, )
        for tdt in tables:
            cos, sin = rope_2d_tables(pos, D, 100., tdt)
            with torch.no_grad():
                ref = apply_rope_2d(q.double(), cos.double(), sin.double())
                errs = [(fn(q, cos, sin).double() - ref).abs().max().item()
                        for fn in (apply_rope_2d, candidate_rope)]
            times = {apply_rope_2d: [], candidate_rope: []}
            for i in range(8):
                order = list(times) if i % 2 == 0 else list(times)[::-1]
                for fn in order:
                    def run(fn=fn):
                        a, b = fn(q, cos, sin), fn(k, cos, sin)
                        (a * g + b * g).sum().backward()
                    times[fn].append(best_ms(run, 2))
            cur, cand = times.values()
            ratio = statistics.median(c / n for c, n in zip(cur, cand))
            print(f'{dt}, {tdt} tables: RoPE q+k fwd+bwd ms (median of 8 '
                  f'alternating rounds): current {statistics.median(cur):.2f}'
                  f', candidate {statistics.median(cand):.2f} (candidate '
                  f'{ratio:.3f}x faster); max error vs float64 {errs[0]:.2e}'
                  f' / {errs[1]:.2e}', flush=True)
        a = torch.randn(N, H * D, dtype=dt)
        w = torch.randn(3 * H * D, H * D, dtype=dt)
        with torch.no_grad():
            t = best_ms(lambda: F.linear(a, w))
        print(f'{dt}: qkv projection {t:.2f} ms, '
              f'{2 * N * H * D * 3 * H * D / t / 1e9:.3f} TFLOP/s', flush=True)


if __name__ == '__main__':
    main()
