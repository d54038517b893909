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

``--inference`` times the forward-only attention of a one-pass inference
instead (default grid: a Full-HD frame, 68x120 = 8160 tokens): SDPA's
fused kernel against the explicit softmax computed in chunks of queries
(``--chunks``; the whole 8160^2 score matrix would not fit beside the
model), best of 3::

    PYTHONPATH=tools python -m analysis_tools.benchmark.micro_attention \
        --inference
"""
import argparse
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F

from winwin_mm.models.layers.rope import apply_rope_2d, rope_2d_tables


def chunked_attention(q, k, v, chunk: int):
    """Explicit ``softmax(q k^T / sqrt(D)) v`` over ``chunk`` queries at a
    time (``(B, H, N, D)`` each): the matrix products run as plain
    ``matmul`` (the 2048^2 peak's kernel), the scores of one chunk are
    ``(B, H, chunk, N)``."""
    out = torch.empty_like(q)
    kt = k.transpose(-2, -1) * q.shape[-1] ** -0.5  # B, H, D, N
    for i in range(0, q.shape[2], chunk):
        scores = q[:, :, i:i + chunk] @ kt  # B, H, chunk, N
        out[:, :, i:i + chunk] = scores.softmax(-1) @ v
    return out


def inference_attention(grid, heads: int, head_dim: int, chunks) -> None:
    """Print forward-only SDPA against ``chunked_attention`` per chunk
    size, fp32 and bf16, with each one's error against fp32 SDPA."""
    N = grid[0] * grid[1]
    gflop = 4 * N * N * head_dim * heads / 1e9
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, heads, N, head_dim) for _ in range(3))
    with torch.no_grad():
        ref = F.scaled_dot_product_attention(q, k, v)
        for dt in (torch.float32, torch.bfloat16):
            qd, kd, vd = q.to(dt), k.to(dt), v.to(dt)
            runs = {'SDPA': lambda: F.scaled_dot_product_attention(qd, kd,
                                                                   vd)}
            for c in chunks:
                runs[f'explicit, {c} queries per chunk'] = (
                    lambda c=c: chunked_attention(qd, kd, vd, c))
            for name, fn in runs.items():
                t = best_ms(fn, 3)
                err = (fn().float() - ref).abs().max().item()
                print(f'{dt}: {N} tokens, forward {name}: {t:.1f} ms, '
                      f'{gflop / t:.3f} TFLOP/s, max error vs fp32 SDPA '
                      f'{err:.2e}', flush=True)


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
    p.add_argument('--grid', type=int, nargs=2, default=None,
                   help='token grid (default: two 22x22 windows side by '
                   'side; with --inference a Full-HD frame, 68x120)')
    p.add_argument('--heads', type=int, default=12)
    p.add_argument('--head-dim', type=int, default=64)
    p.add_argument('--inference', action='store_true',
                   help='forward-only SDPA vs chunked explicit attention')
    p.add_argument('--chunks', type=int, nargs='+', default=(256, 1024),
                   help='queries per chunk of the explicit attention')
    a = p.parse_args(argv)
    if a.inference:
        inference_attention(a.grid or (68, 120), a.heads, a.head_dim,
                            a.chunks)
        return
    a.grid = a.grid or (22, 44)
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
