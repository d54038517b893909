"""Paired A/B timing of one benchmark case in two variants: fp32 against
bf16 autocast, eager against ``torch.compile``, or the code of another
checkout (before a change) against this one.

Each variant is built once in a process of its own (``paired.StepServer``)
and the two run one step each per round, in alternating order, so that
both see the same drift of a shared machine. Optionally each variant's
activation memory is measured too (a fresh process, one step, freed memory
returned to the OS: ``measure.run_case`` with ``memory_run``). With the
matrix-product peaks measured first, each variant's median step is also
given as a fraction of the peak of its precision::

    PYTHONPATH=tools python -m analysis_tools.benchmark.ab \\
        --case winwin_2x22 --variant fp32: --variant bf16:amp=bf16 \\
        --rounds 4 --memory --out work_dirs/ab_bf16
    git archive HEAD~1 | tar -x -C /tmp/before  # the code before a change
    PYTHONPATH=tools python -m analysis_tools.benchmark.ab \\
        --case winwin_2x22 --variant before:src=/tmp/before --variant after:
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

from .cases import build_cases
from .measure import worker_command
from .paired import StepServer, paired_variants
from .peak import measure_peaks, remeasure_peaks
from .report import case_flops, model_specs

OPTION_KEYS = ('amp', 'compile', 'src')


def parse_variant(text: str) -> Tuple[str, Dict]:
    """``'name:amp=bf16,compile=1,src=DIR'`` -> ``(name, options)``.

    Args:
        text: a label, a colon, then comma-separated ``key=value`` options
            (keys: ``amp`` ('' or bf16), ``compile`` (0/1), ``src`` (a
            checkout)); nothing after the colon: the defaults.
    """
    name, _, rest = text.partition(':')
    if not name:
        raise ValueError(f'variant {text!r}: give a label before the colon')
    options = {}
    for item in filter(None, rest.split(',')):
        key, sep, value = item.partition('=')
        if not sep or key not in OPTION_KEYS:
            raise ValueError(f'variant {text!r}: options are key=value with '
                             f'keys {OPTION_KEYS}, got {item!r}')
        options[key] = value
    options['compile'] = options.get('compile', '0') not in ('', '0')
    return name, options


def _memory(case, opts: Dict, src: Optional[str]) -> Dict:
    """One memory run of ``case`` (fresh process, see ``measure.py``)."""
    cmd, env = worker_command(case, dict(opts, memory_run=True))
    if src:
        env['PYTHONPATH'] = os.pathsep.join([os.path.join(src, 'tools'),
                                             src])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env,
                          cwd=src or None, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_ab(case_name: str, variants: List[Tuple[str, Dict]], rounds: int,
           warmup: int = 1, memory: bool = False, quick: bool = False,
           arch: str = 'b', threads: int = 0) -> Dict:
    """Paired times (and memory) of two variants of one case.

    Args:
        case_name: a training base (``cases.TRAIN_BASES``, batch 1) or an
            inference base (``cases.INFER_BASES``: one pass, e.g. the
            Full-HD flow pass ``flow_whole``; tiling runs all its tiles).
        variants: two ``(label, options)`` from :func:`parse_variant`.
        rounds: alternating rounds.
        warmup: untimed steps in each process before the rounds.
        memory: also one memory run per variant.
        quick: the benchmark's tiny sizes (tests).
        arch: encoder preset.
        threads: torch threads per process (0: default).

    Returns:
        ``paired.paired_variants``'s dict plus ``case``, ``flops``,
        ``peaks``, ``variants`` (options, median, fraction of the peak of
        its precision, memory).
    """
    if len(variants) != 2:
        raise ValueError(f'give exactly two variants, got {len(variants)}')
    case = [c for c in build_cases(quick, 1, [case_name])
            if c.base == case_name][0]
    base = dict(device='cpu', arch=arch, quick=quick, threads=threads,
                warmup=warmup, repeats=1, warmup_infer=1, repeats_infer=1,
                max_tiles=0)
    say = lambda msg: print(f'  [ab] {msg}', file=sys.stderr, flush=True)  # noqa: E731,E501
    peaks = measure_peaks('cpu', threads)
    say(f'peaks: fp32 {peaks["fp32"]:.3f}, bf16 {peaks["bf16"]:.3f} TFLOP/s')
    opts = {name: dict(base, amp=o.get('amp', ''), compile=o['compile'])
            for name, o in variants}
    srcs = {name: o.get('src') or None for name, o in variants}
    servers = {}
    try:
        for name in opts:
            servers[name] = StepServer(case, opts[name], name, srcs[name])
        res = paired_variants(servers, rounds, say)
    finally:
        for server in servers.values():
            server.close()
    peaks = remeasure_peaks(peaks, 'cpu', threads)  # workers closed
    flops = case_flops(case.to_dict(), model_specs(arch, quick), quick)
    res.update(case=case.name, flops=flops, peaks=peaks, variants={})
    for name, o in variants:
        median = statistics.median(res['times_s'][name])
        precision = o.get('amp') or 'fp32'
        v = dict(o, median_s=median, precision=precision,
                 tflops_per_s=flops / median / 1e12,
                 peak_fraction=flops / median / 1e12 / peaks[precision])
        if memory:
            m = _memory(case, opts[name], srcs[name])
            v.update(activation_mem_bytes=m['activation_mem_bytes'],
                     peak_mem_bytes=m['peak_mem_bytes'])
        res['variants'][name] = v
    return res


def format_ab(res: Dict) -> str:
    """The result as a few lines of text."""
    lines = [f'{res["case"]}: {res["flops"] / 1e9:.1f} GFLOP per step; peaks '
             f'fp32 {res["peaks"]["fp32"]:.3f}, bf16 '
             f'{res["peaks"]["bf16"]:.3f} TFLOP/s']
    for name, v in res['variants'].items():
        mem = (f', activation {v["activation_mem_bytes"] / 2**30:.2f} GiB'
               if 'activation_mem_bytes' in v else '')
        times = ', '.join(f'{t:.2f}' for t in res['times_s'][name])
        lines.append(f'  {name:<10} median {v["median_s"]:.2f} s ({times}); '
                     f'{v["tflops_per_s"]:.3f} TFLOP/s = '
                     f'{100 * v["peak_fraction"]:.1f} % of the '
                     f'{v["precision"]} peak{mem}')
    a, b = res['names']
    lines.append(f'  {b} vs {a}: {res["ratio_median"]:.3f}x faster (median '
                 f'of {len(res["ratios"])} rounds; min '
                 f'{res["ratio_min"]:.3f}, max {res["ratio_max"]:.3f})')
    return '\n'.join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', default='winwin_2x22')
    p.add_argument('--variant', action='append', required=True,
                   help="label:key=value,... (twice; keys amp, compile, "
                   'src), e.g. fp32: and bf16:amp=bf16')
    p.add_argument('--rounds', type=int, default=4)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--memory', action='store_true')
    p.add_argument('--quick', action='store_true')
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--out', default='')
    a = p.parse_args(argv)
    res = run_ab(a.case, [parse_variant(v) for v in a.variant], a.rounds,
                 a.warmup, a.memory, a.quick, threads=a.threads)
    text = format_ab(res)
    print(text)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, 'ab.json'), 'w') as f:
            json.dump(res, f, indent=1)
        with open(os.path.join(a.out, 'ab.txt'), 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
