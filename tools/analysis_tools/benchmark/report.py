"""FLOPs and ratios per case, the printed table, the JSON and the chart.

Ratios, per row, against its ``reference`` case:
- training rows (reference: full resolution, same batch):
  ``time_ratio = t_full / t`` (x faster), ``flop_ratio = F_full / F``,
  ``mem_ratio = activation_full / activation`` (x less memory);
- inference rows (reference: the one-pass case):
  ``time_ratio = t / t_one_pass`` (x slower than one pass), ``flop_ratio =
  F / F_one_pass``, ``mem_ratio = activation / activation_one_pass``.
So every ratio above 1 is in favour of Win-Win / the one pass.

``peak_fraction`` (the limit row): the case's analytic FLOPs over its
measured time, divided by the matrix-product peak of its precision (fp32,
or bf16 with ``--amp bf16``) that the tool measured in the same run on the
same threads (``peak.py``). ``part_rates``: the same for each part of the
profiled training step (attention, MLP, patch embedding, head), its
analytic FLOPs (``part_flops``) over its profiled seconds.
"""
import json
import statistics
import os.path as osp
from typing import Dict, List, Optional

from .cases import SCALES
from .flops import (convnext_head_flops, flow_pass_flops, seg_step_flops,
                    vit_flops)
from .peak import peak_fraction
from .models import flow_config, seg_config, vitdet_global_blocks

GB = 1024 ** 3


def model_specs(arch: str, quick: bool) -> Dict[str, Dict]:
    """Dimensions for the FLOP formulas, read from the same configs the
    benchmark builds."""
    seg, _ = seg_config(arch, quick)
    bb, head = seg.backbone, seg.decode_head
    from winwin_mm.models.backbones.rope_vit import ARCH_SETTINGS
    preset = dict(ARCH_SETTINGS[bb.arch or 'b'])
    preset.update({k: bb[k] for k in ('embed_dims', 'num_layers')
                   if bb.get(k) is not None})
    seg_spec = dict(dim=preset['embed_dims'], layers=preset['num_layers'],
                    mlp_ratio=4., patch=bb.patch_size,
                    head_channels=head.channels, num_convs=head.num_convs,
                    num_classes=head.num_classes)
    flow = flow_config(arch, quick)
    fb, dec, fh = flow.backbone, flow.decoder, flow.decode_head
    preset = dict(ARCH_SETTINGS[fb.arch or 'b'])
    preset.update({k: fb[k] for k in ('embed_dims', 'num_layers')
                   if fb.get(k) is not None})
    flow_spec = dict(dim=preset['embed_dims'], layers=preset['num_layers'],
                     mlp_ratio=4., patch=fb.patch_size,
                     dec_dim=dec.embed_dims, dec_layers=dec.num_layers,
                     head_in=list(fh.in_channels),
                     layer_dims=list(fh.layer_dims),
                     head_channels=fh.channels, last_dim=fh.last_dim,
                     out_channels=fh.out_channels)
    return dict(seg=seg_spec, flow=flow_spec)


def _grid(size, patch: int):
    return (-(-size[0] // patch), -(-size[1] // patch))


def case_flops(case: Dict, specs: Dict, quick: bool) -> float:
    """Analytic FLOPs of one repetition of a case (whole batch)."""
    scale = SCALES['quick' if quick else 'full']
    if case['group'] == 'flow_infer':
        spec = specs['flow']
        if case['mode'] == 'whole':
            return flow_pass_flops(_grid(case['image'], spec['patch']), spec)
        per_tile = flow_pass_flops(_grid(case['crop'], spec['patch']), spec)
        return case['extra']['passes'] * per_tile
    spec = specs['seg']
    if case['group'] == 'seg_infer':
        if case['mode'] == 'whole':
            return seg_step_flops([_grid(case['image'], spec['patch'])],
                                  spec, train=False)
        return case['extra']['passes'] * seg_step_flops(
            [_grid(case['crop'], spec['patch'])], spec, train=False)
    if case['windows'] is not None:
        grids = [tuple(w) for w in case['windows']]
    else:
        grids = [_grid(case['image'], spec['patch'])]
    window = scale['vitdet_window'] if case['vitdet'] else 0
    per_image = seg_step_flops(grids, spec, train=True, window=window,
                               global_blocks=vitdet_global_blocks(
                                   spec['layers']))
    return case['batch'] * per_image


def part_flops(case: Dict, specs: Dict, quick: bool) -> Optional[Dict]:
    """Analytic FLOPs of each tagged part of a training step (whole batch,
    forward + backward): ``attention`` (q/k/v and output projections,
    ``QK^T``, ``AV``), ``mlp``, ``patch_embed``, ``head``; they sum to
    ``case_flops``. None for inference cases."""
    if case['group'] != 'train':
        return None
    spec, scale = specs['seg'], SCALES['quick' if quick else 'full']
    grids = ([tuple(w) for w in case['windows']] if case['windows']
             else [_grid(case['image'], spec['patch'])])
    window = dict(window=scale['vitdet_window'] if case['vitdet'] else 0,
                  global_blocks=vitdet_global_blocks(spec['layers']))
    C, n = spec['dim'], sum(h * w for h, w in grids)
    embed = vit_flops(grids, C, 0, patch=spec['patch'])  # no blocks
    mlp = spec['layers'] * 2 * 2 * spec['mlp_ratio'] * C * C * n
    attention = vit_flops(grids, C, spec['layers'], spec['mlp_ratio'],
                          spec['patch'], **window) - embed - mlp
    head = convnext_head_flops(grids, C, spec['head_channels'],
                               spec['num_convs'], spec['num_classes'])
    k = 3 * case['batch']  # backward: two products per forward product
    return dict(attention=k * attention, mlp=k * mlp, patch_embed=k * embed,
                head=k * head)


def add_ratios(results: List[Dict], peak_tflops: float = 0.,
               peaks: Optional[Dict] = None, amp: str = '') -> None:
    """Fill in place ``time_ratio``, ``flop_ratio``, ``mem_ratio`` (see
    module doc), ``images_per_s`` (training: batch / time), achieved
    ``tflops_per_s``, given the device's datasheet peak ``mfu`` (model FLOP
    utilisation = achieved / peak) and, given the measured matrix-product
    ``peaks`` (``{'fp32': TFLOP/s, 'bf16': TFLOP/s}``), ``peak_fraction``
    against the peak of the case's precision (``amp`` or fp32; None where
    that precision's peak was not measured)."""
    precision = amp or 'fp32'
    by_name = {r['name']: r for r in results}
    for r in results:
        if 'error' in r:  # a failed case (e.g. out of memory): no numbers
            for key in ('time_s', 'activation_mem_bytes', 'peak_mem_bytes',
                        'images_per_s', 'tflops_per_s', 'mfu', 'time_ratio',
                        'mem_ratio', 'peak_fraction'):
                r.setdefault(key, None)
    for r in results:
        if 'error' in r:
            f_ref, f = by_name[r['reference']]['flops'], r['flops']
            r['flop_ratio'] = f_ref / f if r['group'] == 'train' else f / f_ref
            continue
        r['images_per_s'] = (r['batch'] / r['time_s']
                             if r['group'] == 'train' else 1 / r['time_s'])
        r['tflops_per_s'] = r['flops'] / r['time_s'] / 1e12
        r['mfu'] = r['tflops_per_s'] / peak_tflops if peak_tflops else None
        peak = (peaks or {}).get(precision)
        r['precision'] = precision
        r['peak_fraction'] = (peak_fraction(r['flops'], r['time_s'], peak)
                              if peak else None)
        if r.get('breakdown') and r.get('part_flops') and peak:
            r['part_rates'] = {
                part: dict(tflops_per_s=f / r['breakdown'][part] / 1e12,
                           peak_fraction=peak_fraction(
                               f, r['breakdown'][part], peak))
                for part, f in r['part_flops'].items()
                if r['breakdown'].get(part)}
        ref = by_name[r['reference']]
        pairs = dict(time_ratio=('time_s', ref['time_s'], r['time_s']),
                     flop_ratio=('flops', ref['flops'], r['flops']),
                     mem_ratio=('activation_mem_bytes',
                                ref['activation_mem_bytes'],
                                r['activation_mem_bytes']))
        for key, (_, a, b) in pairs.items():
            if r['group'] != 'train':
                a, b = b, a
            r[key] = a / b if a is not None and b else None


def _peak_line(meta: Dict) -> str:
    """The measured matrix-product peaks the ``of peak`` column uses."""
    p = meta.get('peaks')
    if not p:
        return 'matrix-product peak: not measured'
    when = (', before and after the cases'
            if len(p.get('fp32_samples', ())) > 1 else '')
    line = (f'matrix-product peak ({p["matmul_n"]}^2 mm, {p["threads"]} '
            f'threads, best of 5{when}): fp32 {p["fp32"]:.3f}, bf16 '
            f'{p["bf16"]:.3f} TFLOP/s; "of peak" = FLOPs / time / peak of '
            f'the case\'s precision ({meta.get("amp") or "fp32"})')
    if meta.get('device') != 'cuda':
        line += '; GPU rows: not measured'
    return line


def format_table(results: List[Dict], meta: Dict) -> str:
    """The printed table."""
    head = (f'{"case":<16}{"what":<58}{"passes":>7}{"time s":>10}'
            f'{"ratio":>8}{"FLOP r.":>9}{"GFLOP":>10}{"peak GB":>9}'
            f'{"act. GB":>9}{"mem r.":>8}{"TFLOP/s":>9}{"of peak":>9}')
    lines = [f'winwin_mm benchmark: device {meta["device"]} '
             f'({meta["device_name"]}), amp {meta["amp"] or "off"}, '
             f'arch {meta["arch"]}{", QUICK sizes" if meta["quick"] else ""}',
             'train ratio = full-res / case (x faster, x less activation '
             'memory); inference ratio = case / one pass (x slower)',
             _peak_line(meta), head,
             '-' * len(head)]
    group = None
    for r in results:
        if r['group'] != group:
            group = r['group']
            lines.append(f'[{group}]')
        passes = r['extra'].get('passes', r['batch'])
        note = ''
        if r.get('extrapolated'):
            note = f' *{r["extra"]["tiles_timed"]}/{passes} tiles timed'
        fmt = (lambda v: f'{v:.2f}' if v is not None else '-')
        pct = (lambda v: f'{100 * v:.1f}%' if v is not None else '-')
        if 'error' in r:
            lines.append(f'{r["name"]:<16}{r["label"][:57]:<58}{passes:>7}'
                         f'    FAILED: {r["error"][:60]}')
            continue
        lines.append(
            f'{r["name"]:<16}{r["label"][:57]:<58}{passes:>7}'
            f'{r["time_s"]:>10.3f}{fmt(r["time_ratio"]):>8}'
            f'{fmt(r["flop_ratio"]):>9}{r["flops"] / 1e9:>10.1f}'
            f'{r["peak_mem_bytes"] / GB:>9.2f}'
            f'{r["activation_mem_bytes"] / GB:>9.2f}'
            f'{fmt(r["mem_ratio"]):>8}{r["tflops_per_s"]:>9.3f}'
            f'{pct(r.get("peak_fraction")):>9}{note}')
    profiled = [r for r in results if r.get('breakdown')]
    if profiled:
        from .breakdown import PARTS
        names = PARTS + ('other', )
        lines.append('where a training step goes (s, one torch.profiler run '
                     'after the timed steps; share of the profiled step):')
        lines.append(f'  {"case":<16}' + ''.join(f'{n:>16}' for n in names)
                     + f'{"step":>9}')
        for r in profiled:
            b = r['breakdown']
            lines.append(f'  {r["name"]:<16}' + ''.join(
                f'{b[n]:>8.2f} ({100 * b[n] / b["step"]:>3.0f}%)'
                for n in names) + f'{b["step"]:>9.2f}')
        rated = [r for r in profiled if r.get('part_rates')]
        if rated:
            lines.append('  each part\'s analytic FLOPs / its profiled time '
                         '(TFLOP/s, of peak):')
        for r in rated:
            q = r['part_rates']
            lines.append(f'  {r["name"]:<16}' + ''.join(
                f'{q[n]["tflops_per_s"]:>8.3f} '
                f'({100 * q[n]["peak_fraction"]:>3.0f}%)'
                if n in q else f'{"":>15}' for n in names))
    paired = [r for r in results if r.get('paired')]
    if paired:
        lines.append('paired timing (one step of each, alternating, each '
                     'case in its own process): x faster per round')
    for r in paired:
        p = r['paired']
        lines.append(
            f'  {r["name"]} vs {p["base"]}: median {p["ratio_median"]:.2f}x '
            f'(min {p["ratio_min"]:.2f}, max {p["ratio_max"]:.2f}) over '
            f'{p["rounds"]} rounds; medians {statistics.median(p["base_times_s"]):.2f} s'
            f' vs {statistics.median(p["times_s"]):.2f} s')
    if any(r.get('extrapolated') for r in results):
        lines.append('* extrapolated: time of the timed tiles (model passes, '
                     'merge not included) scaled to all tiles')
    return '\n'.join(lines)


def write_json(path: str, results: List[Dict], meta: Dict) -> None:
    with open(path, 'w') as f:
        json.dump(dict(meta=meta, cases=results), f, indent=1)


def write_chart(path: str, results: List[Dict], meta: Dict) -> None:
    """Bar chart: time and activation memory of every case relative to its
    reference (training: full resolution = 1; inference: one pass = 1)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    results = [r for r in results if r.get('time_ratio') is not None]
    names = [r['name'] for r in results]
    rel_t = [1 / r['time_ratio'] if r['group'] == 'train'
             else r['time_ratio'] for r in results]
    rel_f = [1 / r['flop_ratio'] if r['group'] == 'train'
             else r['flop_ratio'] for r in results]
    rel_m = [(1 / r['mem_ratio'] if r['group'] == 'train' else r['mem_ratio'])
             if r['mem_ratio'] else 0 for r in results]
    frac = [100 * (r.get('peak_fraction') or 0) for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(19, 0.35 * len(names) + 1.8))
    y = list(range(len(names)))
    axes[0].barh([v - 0.2 for v in y], rel_t, 0.4, label='measured time')
    axes[0].barh([v + 0.2 for v in y], rel_f, 0.4, label='analytic FLOPs')
    axes[0].set_xscale('log')
    axes[0].set_title('cost relative to the reference (log)')
    axes[1].barh(y, rel_m, 0.6, color='tab:green')
    axes[1].set_title('activation memory relative to the reference')
    axes[2].barh(y, frac, 0.6, color='tab:purple')
    axes[2].set_title(f'% of the measured {meta.get("amp") or "fp32"} '
                      'matrix-product peak')
    for ax in axes:
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        ax.invert_yaxis()
        if ax is not axes[2]:
            ax.axvline(1, color='k', lw=0.8)
    axes[0].legend(loc='best', fontsize='small')
    fig.suptitle(f'winwin_mm benchmark, {meta["device_name"]}, amp '
                 f'{meta["amp"] or "off"}, arch {meta["arch"]}'
                 f'{" (quick)" if meta["quick"] else ""}; reference: full '
                 'resolution (train), one pass (inference)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(out_dir: str, results: List[Dict], meta: Dict) -> Dict:
    """Write ``benchmark.json``, ``benchmark.txt`` and ``benchmark.png``."""
    paths = {k: osp.join(out_dir, f'benchmark.{k}')
             for k in ('json', 'txt', 'png')}
    write_json(paths['json'], results, meta)
    with open(paths['txt'], 'w') as f:
        f.write(format_table(results, meta) + '\n')
    write_chart(paths['png'], results, meta)
    return paths
