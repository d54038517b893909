"""Op-level profile of one benchmark training step: self CPU time per
operator (``torch.profiler``), fp32 and/or bf16 autocast, in this process.

Where ``breakdown.py`` splits a step by module (attention, MLP, head, ...),
this lists the kernels (``aten::mm``, the SDPA kernels, ``aten::copy_``,
convolutions), which is what a change to the layers can make faster::

    PYTHONPATH=tools python -m analysis_tools.benchmark.op_profile \\
        --case winwin_2x22 --amp '' bf16 --rows 20 --out work_dirs/ops.json
"""
import argparse
import json
import sys
import time
from typing import Dict, List

import torch
from torch.profiler import ProfilerActivity, profile


def profile_ops(case_name: str, amp: str, warmup: int = 1,
                quick: bool = False, arch: str = 'b') -> Dict:
    """Build ``case_name`` at batch 1, run ``warmup`` steps and one timed
    unprofiled step, then one profiled step.

    Args:
        case_name: a training base of ``cases.TRAIN_BASES``.
        amp: ``''`` (fp32) or ``'bf16'`` (CPU autocast).
        warmup: untimed steps first.
        quick: the benchmark's tiny sizes (tests).
        arch: encoder preset.

    Returns:
        ``dict(amp, step_s, profiled_s, ops)``; ``ops`` maps each operator
        to ``[self CPU seconds, calls]``, largest first.
    """
    from .cases import build_cases
    from .steps import train_step
    case = [c for c in build_cases(quick, 1, [case_name])
            if c.base == case_name][0]
    torch.manual_seed(0)
    opts = dict(quick=quick, arch=arch, device='cpu', amp=amp)
    step, _ = train_step(case, opts)
    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    step()
    step_s = time.perf_counter() - t0
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        step()
        profiled_s = time.perf_counter() - t0
    ops = sorted(((e.key, e.self_cpu_time_total / 1e6, e.count)
                  for e in prof.key_averages()), key=lambda r: -r[1])
    return dict(amp=amp or 'fp32', step_s=step_s, profiled_s=profiled_s,
                ops={k: [s, n] for k, s, n in ops})


def format_ops(results: List[Dict], rows: int) -> str:
    """The ``rows`` largest operators of the first result, with each
    result's self seconds side by side."""
    head = results[0]['ops']
    names = list(head)[:rows]
    for r in results[1:]:  # and the largest of the others
        names += [k for k in list(r['ops'])[:rows] if k not in names]
    cols = [r['amp'] for r in results]
    lines = [f'{"operator":<64}' + ''.join(f'{c + " s":>12}{"calls":>7}'
                                            for c in cols)]
    for name in names:
        lines.append(f'{name[:63]:<64}' + ''.join(
            f'{r["ops"].get(name, [0, 0])[0]:>12.3f}'
            f'{r["ops"].get(name, [0, 0])[1]:>7d}' for r in results))
    lines.append(f'{"total self CPU (profiled step)":<64}' + ''.join(
        f'{sum(s for s, _ in r["ops"].values()):>12.3f}{"":>7}'
        for r in results))
    lines.append(f'{"unprofiled step, wall s":<64}' + ''.join(
        f'{r["step_s"]:>12.3f}{"":>7}' for r in results))
    return '\n'.join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', default='winwin_2x22')
    p.add_argument('--amp', nargs='+', default=['', 'bf16'],
                   help="'' (fp32) and/or bf16")
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--rows', type=int, default=20)
    p.add_argument('--quick', action='store_true')
    p.add_argument('--out', default='')
    a = p.parse_args(argv)
    from mmseg.utils import register_all_modules
    import winwin_mm  # noqa: F401  (registers the components)
    register_all_modules(init_default_scope=False)
    results = []
    for amp in a.amp:
        results.append(profile_ops(a.case, amp, a.warmup, a.quick))
        print(f'{results[-1]["amp"]}: step {results[-1]["step_s"]:.2f} s',
              file=sys.stderr, flush=True)
    print(format_ops(results, a.rows))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(dict(case=a.case, results=results), f, indent=1)


if __name__ == '__main__':
    main()
