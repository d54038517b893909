"""Run the selected cases (each in a fresh process) and write the report."""
import os
import platform
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch

from .cases import build_cases
from .measure import run_in_subprocess
from .paired import paired_times
from .peak import measure_peaks, remeasure_peaks
from .report import (add_ratios, case_flops, format_table, model_specs,
                     part_flops, write_all)


def cpu_description() -> str:
    """CPU model, the vector instructions torch dispatches to and whether
    bf16 has native support: runs on "2 CPU cores" differ by these (the
    Win-Win step took 13.7-14.0 s on an AVX2 machine, 8.3-12.8 s on an
    AVX512 one)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    model = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                    break
    except OSError:  # not Linux: the platform's name only
        pass
    bf16 = flags & {'avx512_bf16', 'amx_bf16'}
    return (f'{model}, {torch.backends.cpu.get_cpu_capability()}'
            f'{", native bf16 (" + "/".join(sorted(bf16)) + ")" if bf16 else ""}')


def _add_paired(todo: List, results: List[Dict], opts: Dict,
                rounds: int) -> None:
    """``result['paired']`` of every training case that ran, against the
    full-resolution case of its batch (``paired.paired_times``)."""
    ok = {r['name'] for r in results if 'error' not in r}
    cases = {c.name: c for c in todo if c.group == 'train' and c.name in ok}
    for res in results:
        base = cases.get(f'full@b{res["batch"]}')
        if res['name'] not in cases or base is None or res['base'] == 'full':
            continue
        print(f'[paired] {res["name"]} against {base.name}: {rounds} '
              'alternating rounds', file=sys.stderr, flush=True)
        try:
            res['paired'] = paired_times(
                base, cases[res['name']], opts, rounds,
                lambda msg: print(f'  [paired] {msg}', file=sys.stderr,
                                  flush=True))
        # A worker killed for memory: a closed pipe or no answer; go on.
        except (RuntimeError, OSError) as err:
            print(f'[paired] {res["name"]}: FAILED ({err})',
                  file=sys.stderr, flush=True)


def run_benchmark(out_dir: str, device: str = 'cpu', amp: str = '',
                  arch: str = 'b', batch: int = 2, quick: bool = False,
                  cases: Optional[Sequence[str]] = None,
                  warmup: Optional[int] = None,
                  repeats: Optional[int] = None,
                  warmup_infer: Optional[int] = None,
                  repeats_infer: Optional[int] = None,
                  max_tiles: Optional[int] = None,
                  threads: int = 0, peak_tflops: float = 0.,
                  paired: int = 0, compile: bool = False) -> List[Dict]:
    """Measure every case, print the table, write JSON, text and PNG.

    Args:
        out_dir: where ``benchmark.{json,txt,png}`` go.
        device: ``'cpu'`` or ``'cuda'``.
        amp: ``''``, ``'bf16'`` or ``'fp16'`` (CUDA only).
        arch: encoder preset ``'s'``, ``'b'``, ``'l'``.
        batch: the second training batch size.
        quick: tiny sizes and model (tests).
        cases: settings to run (``ALL_BASES``); references are added.
        warmup, repeats: untimed and timed training steps (None: 1 and 2
            on CPU, 3 and 10 on CUDA).
        warmup_infer, repeats_infer: the same for inference (None: 1 and
            1 on CPU, 2 and 5 on CUDA).
        max_tiles: flow tiling with more tiles is timed on this many and
            extrapolated; None: all tiles on CUDA, 24 on CPU (a Full-HD
            tiling is 135 / 1050 passes of a ViT-B CroCo-Flow: tens of
            minutes on 2 cores); 0: always all.
        threads: torch threads in each case (0: torch's default).
        peak_tflops: the device's peak TFLOP/s in the measured dtype, for
            the model FLOP utilisation (``mfu``); 0: not reported.
        paired: after the cases, time each training case against full
            resolution at its batch in this many alternating rounds
            (``paired.py``: robust to the machine's drift); 0: not.
        compile: ``torch.compile`` every transformer block of each case
            (``steps.compile_blocks``; the warm-up steps compile).

    Returns:
        One result dict per case (see ``measure.run_case``), with FLOPs
        and ratios.
    """
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda but CUDA is not available')
    if paired < 0:  # before hours of cases, not after them
        raise ValueError(f'--paired {paired}: the number of rounds must be '
                         '>= 0 (0: no paired timing)')
    cuda = device == 'cuda'
    defaults = dict(warmup=(3, 1), repeats=(10, 2), warmup_infer=(2, 1),
                    repeats_infer=(5, 1), max_tiles=(0, 24))
    given = dict(warmup=warmup, repeats=repeats, warmup_infer=warmup_infer,
                 repeats_infer=repeats_infer, max_tiles=max_tiles)
    n = {k: v if v is not None else defaults[k][0 if cuda else 1]
         for k, v in given.items()}
    os.makedirs(out_dir, exist_ok=True)
    todo = build_cases(quick, batch, cases)
    opts = dict(device=device, amp=amp, arch=arch, quick=quick,
                threads=threads, compile=compile, **n)
    specs = model_specs(arch, quick)
    # The limit each case's FLOP rate is compared against, on the cases'
    # threads (the parent holds no model yet: nothing else runs).
    peaks = measure_peaks(device, threads)
    print(f'matrix-product peak: fp32 {peaks["fp32"]:.3f}, bf16 '
          f'{peaks["bf16"]:.3f} TFLOP/s ({peaks["threads"]} threads)',
          file=sys.stderr, flush=True)
    results, start = [], time.perf_counter()
    for i, case in enumerate(todo):
        print(f'[{i + 1}/{len(todo)}] {case.name}: {case.label}',
              file=sys.stderr, flush=True)
        try:
            res = run_in_subprocess(case, opts)
        except RuntimeError as err:  # e.g. killed for memory: go on
            res = dict(case.to_dict(), error=str(err))
            print(f'[{i + 1}/{len(todo)}] {case.name}: FAILED ({err})',
                  file=sys.stderr, flush=True)
        res['flops'] = case_flops(res, specs, quick)
        res['part_flops'] = part_flops(res, specs, quick)
        results.append(res)
        if 'error' not in res:
            print(f'[{i + 1}/{len(todo)}] {case.name}: {res["time_s"]:.3f} '
                  f's, activation {res["activation_mem_bytes"] / 2**20:.0f} '
                  f'MiB ({time.perf_counter() - start:.0f} s elapsed)',
                  file=sys.stderr, flush=True)
    peaks = remeasure_peaks(peaks, device, threads)  # after the cases
    add_ratios(results, peak_tflops, peaks, amp)
    if paired:
        _add_paired(todo, results, opts, paired)
    meta = dict(opts, paired_rounds=paired, batch=batch, peak_tflops=peak_tflops,
                peaks=peaks,
                gpu=('measured' if device == 'cuda' else 'not measured'),
                torch=torch.__version__,
                device_name=(torch.cuda.get_device_name() if device == 'cuda'
                             else cpu_description()),
                cpu_count=os.cpu_count(),
                total_s=time.perf_counter() - start,
                command=' '.join(sys.argv))
    print(format_table(results, meta))
    ww = [r for r in results if r['base'] == 'winwin_2x22' and r['mfu']]
    for r in ww:
        print(f'model FLOP utilisation of {r["name"]}: {100 * r["mfu"]:.1f} %'
              f' ({r["tflops_per_s"]:.1f} of {peak_tflops} TFLOP/s)')
    paths = write_all(out_dir, results, meta)
    print(f'wrote {paths["json"]}, {paths["txt"]}, {paths["png"]}')
    return results
