"""Op-level profile of one benchmark case: self CPU time per operator
(``torch.profiler``), fp32 and/or bf16 autocast, in this process.

Where ``breakdown.py`` splits a training step by module (attention, MLP,
head, ...), this lists the kernels (``aten::mm``, the SDPA kernels,
``aten::copy_``, convolutions), which is what a change to the layers can
make faster. Any case runs: a training step (``winwin_2x22``) or a one-pass
inference (``flow_whole``: the Full-HD flow pass). The operators are also
summed into groups (attention kernel, matrix products, convolutions,
copies, the rest), and the analytic FLOPs of the attention kernel and of
the other counted products are divided by their groups' time, against the
matrix-product peak measured in the same run::

    PYTHONPATH=tools python -m analysis_tools.benchmark.op_profile \\
        --case winwin_2x22 --amp '' bf16 --rows 20 --out work_dirs/ops.json
    PYTHONPATH=tools python -m analysis_tools.benchmark.op_profile \\
        --case flow_whole --warmup 0 --out work_dirs/ops_flow.json
"""
import argparse
import json
import re
import sys
import time
from typing import Dict, List, Optional

import torch
from torch.profiler import ProfilerActivity, profile

# Operator groups, first match wins. The SDPA kernels (flash attention on
# CPU, forward and backward) hold QK^T, softmax and AV; a math fallback
# would show as bmm among the matrix products instead.
OP_GROUPS = (
    ('attention kernel', re.compile(r'scaled_dot_product|flash_attention')),
    ('matrix products', re.compile(
        r'^aten::(mm|addmm|bmm|baddbmm|addbmm|matmul|linear|_addmm_\w*|'
        r'mkldnn_linear\w*)$')),
    ('convolutions', re.compile(r'conv')),
    ('copies and layout', re.compile(
        r'^aten::(copy_|clone|contiguous|cat|stack|index\w*|gather|'
        r'scatter\w*|_to_copy|to|constant_pad_nd|_unsafe_view|reshape|'
        r'permute|transpose|view|as_strided\w*|slice\w*|select\w*|'
        r'narrow|unfold|im2col|col2im|flip|roll|repeat\w*|expand)$')),
)
OTHER = 'element-wise and other'
GROUP_NAMES = tuple(g for g, _ in OP_GROUPS) + (OTHER,)


def op_group(name: str) -> str:
    """The group of an operator name (``OP_GROUPS``, else ``OTHER``)."""
    for group, pattern in OP_GROUPS:
        if pattern.search(name):
            return group
    return OTHER


def group_ops(ops: Dict[str, List]) -> Dict[str, float]:
    """Self CPU seconds per group of ``ops`` (``{name: [s, calls]}``)."""
    out = dict.fromkeys(GROUP_NAMES, 0.)
    for name, (seconds, _) in ops.items():
        out[op_group(name)] += seconds
    return out


def case_attention_flops(case: Dict, specs: Dict, quick: bool
                         ) -> Optional[float]:
    """The attention-kernel share of ``report.case_flops`` for one
    repetition of ``case`` (its ``to_dict()``); None for ViTDet (its
    windowed kernels run through the same SDPA but the split is not
    worth a second formula here)."""
    from .flops import flow_attention_flops, vit_attention_flops
    from .report import _grid
    if case.get('vitdet'):
        return None
    if case['group'] == 'flow_infer':
        spec = specs['flow']
        size = case['image'] if case['mode'] == 'whole' else case['crop']
        return case['extra']['passes'] * flow_attention_flops(
            _grid(size, spec['patch']), spec)
    spec = specs['seg']
    if case['group'] == 'seg_infer':
        size = case['image'] if case['mode'] == 'whole' else case['crop']
        return case['extra']['passes'] * vit_attention_flops(
            [_grid(size, spec['patch'])], spec['dim'], spec['layers'])
    grids = ([tuple(w) for w in case['windows']] if case['windows']
             else [_grid(case['image'], spec['patch'])])
    return 3 * case['batch'] * vit_attention_flops(grids, spec['dim'],
                                                  spec['layers'])


def profile_ops(case_name: str, amp: str, warmup: int = 1,
                quick: bool = False, arch: str = 'b') -> Dict:
    """Build ``case_name`` (training at batch 1), run ``warmup`` untimed
    repetitions and one timed unprofiled one, then one profiled one.

    Args:
        case_name: a base of ``cases.ALL_BASES`` (training or inference;
            flow tiling runs all its tiles).
        amp: ``''`` (fp32) or ``'bf16'`` (CPU autocast).
        warmup: untimed repetitions first (0 for a Full-HD flow pass of
            minutes: the timed pass then includes first-call set-up).
        quick: the benchmark's tiny sizes (tests).
        arch: encoder preset.

    Returns:
        ``dict(amp, step_s, profiled_s, ops)``; ``ops`` maps each operator
        to ``[self CPU seconds, calls]``, largest first.
    """
    from .cases import build_cases
    from .steps import STEPS
    case = [c for c in build_cases(quick, 1, [case_name])
            if c.base == case_name][0]
    torch.manual_seed(0)
    opts = dict(quick=quick, arch=arch, device='cpu', amp=amp, max_tiles=0)
    step, _ = STEPS[case.group](case, opts)
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


def group_rates(result: Dict, flops: float, attention_flops: Optional[float],
                peaks: Dict) -> Dict:
    """Per group: self seconds and share of the profile; for the attention
    kernel and for the other counted products (matrix products and
    convolutions together: the FLOP formulas count both), the achieved
    TFLOP/s and its fraction of the peak of the result's precision."""
    groups = group_ops(result['ops'])
    total = sum(groups.values())
    peak = peaks[result['amp']]
    out = {g: dict(seconds=s, share=s / total if total else 0.)
           for g, s in groups.items()}
    if attention_flops is None:
        return out
    products_s = groups['matrix products'] + groups['convolutions']
    for key, f, s in (('attention kernel', attention_flops,
                       groups['attention kernel']),
                      ('products', flops - attention_flops, products_s)):
        if s > 0:
            rate = f / s / 1e12
            out.setdefault(key, {}).update(
                gflop=f / 1e9, tflops_per_s=rate, peak_fraction=rate / peak)
    return out


def format_groups(results: List[Dict]) -> str:
    """Groups of each result side by side (seconds, share), then the
    kernel rates against the peak (``group_rates``)."""
    lines = [f'{"group":<28}' + ''.join(f'{r["amp"] + " s":>12}{"share":>8}'
                                        for r in results)]
    for g in GROUP_NAMES:
        lines.append(f'{g:<28}' + ''.join(
            f'{r["groups"][g]["seconds"]:>12.3f}'
            f'{100 * r["groups"][g]["share"]:>7.1f}%' for r in results))
    for key, label in (('attention kernel', 'attention kernel (QK, AV)'),
                       ('products', 'matmul + conv products')):
        for r in results:
            g = r['groups'].get(key, {})
            if 'tflops_per_s' in g:
                lines.append(
                    f'{r["amp"]}: {label}: {g["gflop"]:.1f} GFLOP at '
                    f'{g["tflops_per_s"]:.3f} TFLOP/s = '
                    f'{100 * g["peak_fraction"]:.1f} % of the '
                    f'{r["amp"]} peak')
    return '\n'.join(lines)


def main(argv=None) -> None:
    from .cases import ALL_BASES, build_cases
    from .peak import measure_peaks, remeasure_peaks
    from .report import case_flops, model_specs
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', default='winwin_2x22', choices=ALL_BASES)
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
    case = [c for c in build_cases(a.quick, 1, [a.case])
            if c.base == a.case][0].to_dict()
    specs = model_specs('b', a.quick)
    flops = case_flops(case, specs, a.quick)
    attn = case_attention_flops(case, specs, a.quick)
    peaks = measure_peaks('cpu')
    print(f'{case["name"]}: {flops / 1e9:.1f} GFLOP; matrix-product peak: '
          f'fp32 {peaks["fp32"]:.3f}, bf16 {peaks["bf16"]:.3f} TFLOP/s',
          file=sys.stderr, flush=True)
    runs = [profile_ops(a.case, amp, a.warmup, a.quick) for amp in a.amp]
    peaks = remeasure_peaks(peaks, 'cpu')  # after the profiles
    results = []
    for r in runs:
        r['groups'] = group_rates(r, flops, attn, peaks)
        r['tflops_per_s'] = flops / r['step_s'] / 1e12
        r['peak_fraction'] = r['tflops_per_s'] / peaks[r['amp']]
        results.append(r)
        print(f'{r["amp"]}: step {r["step_s"]:.2f} s, '
              f'{r["tflops_per_s"]:.3f} TFLOP/s = '
              f'{100 * r["peak_fraction"]:.1f} % of the {r["amp"]} peak',
              file=sys.stderr, flush=True)
    print(format_ops(results, a.rows))
    print()
    print(format_groups(results))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(dict(case=case, flops=flops, attention_flops=attn,
                           peaks=peaks, results=results), f, indent=1)


if __name__ == '__main__':
    main()
