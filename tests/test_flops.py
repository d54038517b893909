"""The benchmark's limit rows: the matrix-product peak and the fraction of
it each case reaches, the FLOP count of a tiny case by hand, and the
torch.profiler breakdown of a training step. No timing assertions."""
import pytest
import torch

from analysis_tools.benchmark import build_cases, vit_flops
from analysis_tools.benchmark.breakdown import (PARTS, group_times, part_of,
                                                profile_step)
from analysis_tools.benchmark.peak import (best_peaks, matmul_flops,
                                           matmul_peak, measure_peaks,
                                           peak_fraction)
from analysis_tools.benchmark.report import add_ratios, format_table
from analysis_tools.benchmark.steps import train_step


def test_tiny_vit_flops_by_hand():
    # 2 blocks, C = 4, one 2x3 window (n = 6 tokens), patch 2, 3 channels:
    # embed 2*6*(3*2*2)*4 = 576; per block qkv+proj 2*4*16*6 = 768,
    # QK^T + AV 2*2*4*36 = 576, MLP (ratio 4) 2*2*4*16*6 = 1536.
    assert vit_flops([(2, 3)], 4, 2, patch=2) == 576 + 2 * (768 + 576 + 1536)
    assert matmul_flops(3) == 54  # 27 multiply-adds


def test_peak_fraction_formula():
    # 6e12 FLOPs in 2 s = 3 TFLOP/s against a 4 TFLOP/s peak.
    assert peak_fraction(6e12, 2.0, 4.0) == pytest.approx(0.75)
    with pytest.raises(ValueError, match='must be positive'):
        peak_fraction(1e9, 0.0, 1.0)


def _rows():
    return [dict(name='full@b1', base='full', group='train', label='full',
                 batch=1, reference='full@b1', extra={}, time_s=2.0,
                 activation_mem_bytes=4, peak_mem_bytes=5, flops=4e12),
            dict(name='winwin_2x22@b1', base='winwin_2x22', group='train',
                 label='ww', batch=1, reference='full@b1', extra={},
                 time_s=0.5, activation_mem_bytes=1, peak_mem_bytes=2,
                 flops=1e12)]


@pytest.mark.parametrize('amp,peak', [('', 4.0), ('bf16', 10.0)])
def test_rows_use_the_peak_of_their_precision(amp, peak):
    rows = _rows()
    peaks = dict(fp32=4.0, bf16=10.0, matmul_n=2048, threads=2)
    add_ratios(rows, 0., peaks, amp)
    # full: 4e12 / 2 s = 2 TFLOP/s; Win-Win: 1e12 / 0.5 s = 2 TFLOP/s.
    for r in rows:
        assert r['precision'] == (amp or 'fp32')
        assert r['peak_fraction'] == pytest.approx(2.0 / peak)
    table = format_table(rows, dict(device='cpu', device_name='x', amp=amp,
                                    arch='b', quick=True, peaks=peaks))
    assert f'{100 * 2.0 / peak:.1f}%' in table
    assert 'GPU rows: not measured' in table


def test_no_peak_no_fraction():
    rows = _rows()
    add_ratios(rows, 0., dict(fp32=4.0, bf16=10.0), 'fp16')
    assert rows[1]['peak_fraction'] is None  # fp16 peak not measured


def test_best_peaks_keeps_the_higher_rate_of_each_precision():
    # A neighbour's load slowed the first fp32 and the second bf16 product.
    before = dict(fp32=0.117, bf16=0.424, matmul_n=2048, threads=2)
    after = dict(fp32=0.189, bf16=0.299, matmul_n=2048, threads=2)
    best = best_peaks(before, after)
    assert (best['fp32'], best['bf16']) == (0.189, 0.424)
    assert best['fp32_samples'] == [0.117, 0.189]
    assert best['bf16_samples'] == [0.424, 0.299]
    # Combining again keeps every sample.
    again = best_peaks(best, dict(after, fp32=0.2))
    assert again['fp32'] == 0.2 and len(again['fp32_samples']) == 3
    with pytest.raises(ValueError, match='thread counts'):
        best_peaks(before, dict(after, threads=1))
    with pytest.raises(ValueError, match='at least one'):
        best_peaks()


def test_remeasure_peaks_keeps_the_best(monkeypatch, capsys):
    from analysis_tools.benchmark import peak
    later = dict(fp32=0.19, bf16=0.40, matmul_n=2048, threads=2)
    monkeypatch.setattr(peak, 'measure_peaks', lambda device, threads: later)
    first = dict(fp32=0.12, bf16=0.42, matmul_n=2048, threads=2)
    best = peak.remeasure_peaks(first, 'cpu', 2)
    assert (best['fp32'], best['bf16']) == (0.19, 0.42)
    assert 'fp32 0.190, bf16 0.400' in capsys.readouterr().err


@pytest.mark.slow
def test_matmul_peak_is_a_rate():
    # A small product: the tool's rule (2 n^3 / best time), not its speed.
    peaks = measure_peaks('cpu')
    assert peaks['fp32'] > 0 and peaks['bf16'] > 0
    assert peaks['threads'] == torch.get_num_threads()
    assert matmul_peak('cpu', torch.float32, n=64, repeats=2) > 0


def test_parts_of_the_model():
    assert part_of('backbone.layers.3.attn', False) == 'attention'
    assert part_of('backbone.layers.11.mlp', False) == 'mlp'
    assert part_of('backbone.layers.3.attn.qkv', True) is None  # inside
    assert part_of('backbone.layers.3', False) is None
    assert part_of('decode_head.blocks.0.depthwise_conv', True) == 'head'
    assert part_of('decode_head.blocks.0', False) is None
    assert part_of('decode_head.loss_decode', True) is None
    assert part_of('backbone.norm', True) is None


def test_group_times():
    g = group_times(dict(attention=1e6, mlp=2e6, optimizer=5e5), 5.0)
    assert g['attention'] == 1.0 and g['mlp'] == 2.0 and g['head'] == 0.
    assert g['other'] == pytest.approx(1.5) and g['step'] == 5.0


@pytest.mark.slow
def test_profile_of_a_tiny_training_step():
    case = [c for c in build_cases(True, 1, ['winwin_2x22'])
            if c.base == 'winwin_2x22'][0]
    step, _ = train_step(case, dict(quick=True, arch='b', device='cpu',
                                    amp=''))
    step()
    b = profile_step(step)
    for part in PARTS:  # every part ran inside its range
        assert b[part] > 0, part
    assert sum(b[p] for p in PARTS) + b['other'] == pytest.approx(b['step'])
    # The hooks and wrappers are gone afterwards.
    assert 'embed' not in vars(step.model.backbone)
    assert 'step' not in vars(step.wrapper)
    step()


def test_part_flops_split_the_step_by_hand():
    from analysis_tools.benchmark.report import (case_flops, model_specs,
                                                 part_flops)
    specs = model_specs('b', quick=False)
    cases = {c.name: c.to_dict() for c in build_cases(batch=2)}
    C, n = 768, 968  # Win-Win: 2 windows of 22x22 tokens
    parts = part_flops(cases['winwin_2x22@b2'], specs, False)
    k = 3 * 2  # forward + backward, batch 2
    assert parts['patch_embed'] == k * 2 * n * 3 * 16 * 16 * C
    assert parts['mlp'] == k * 12 * 2 * 2 * 4 * C * C * n
    assert parts['attention'] == k * 12 * (2 * 4 * C * C * n
                                           + 2 * 2 * C * n * n)
    for case in ('winwin_2x22@b2', 'full@b1', 'vitdet@b1', 'crop512@b1'):
        parts = part_flops(cases[case], specs, False)
        assert sum(parts.values()) == pytest.approx(
            case_flops(cases[case], specs, False), rel=1e-12), case
    assert part_flops(cases['seg_whole'], specs, False) is None


def test_part_rates_divide_part_flops_by_part_time():
    rows = _rows()
    rows[1].update(breakdown=dict(attention=0.5, mlp=0.25, patch_embed=0.,
                                  head=1.0, optimizer=0.1, other=0.15,
                                  step=2.0),
                   part_flops=dict(attention=1e12, mlp=1e12,
                                   patch_embed=1e9, head=0.5e12))
    peaks = dict(fp32=4.0, bf16=10.0, matmul_n=2048, threads=2)
    add_ratios(rows, 0., peaks, '')
    q = rows[1]['part_rates']
    assert q['attention']['tflops_per_s'] == pytest.approx(2.0)
    assert q['mlp']['peak_fraction'] == pytest.approx(1.0)  # 4 of 4
    assert q['head']['peak_fraction'] == pytest.approx(0.125)
    assert 'patch_embed' not in q  # no time measured: no rate
    table = format_table(rows, dict(device='cpu', device_name='x', amp='',
                                    arch='b', quick=True, peaks=peaks))
    line = [t for t in table.splitlines()
            if t.strip().startswith('winwin_2x22@b1')][-1]
    assert line.split()[1:5] == ['2.000', '(', '50%)', '4.000']
