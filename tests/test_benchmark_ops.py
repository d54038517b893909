"""The op-level profile's groups and kernel rates, and the attention-kernel
share of the analytic FLOPs they are divided by. No timing assertions."""
import pytest

from analysis_tools.benchmark.cases import build_cases
from analysis_tools.benchmark.flops import (decoder_attention_flops,
                                            decoder_flops,
                                            flow_attention_flops,
                                            flow_pass_flops,
                                            vit_attention_flops, vit_flops)
from analysis_tools.benchmark.op_profile import (GROUP_NAMES,
                                                 case_attention_flops,
                                                 format_groups, group_ops,
                                                 group_rates, op_group,
                                                 profile_ops)
from analysis_tools.benchmark.report import model_specs

C = 768
FLOW = dict(dim=C, layers=12, mlp_ratio=4., patch=16, dec_dim=512,
            dec_layers=8, head_in=[512] * 4, layer_dims=[96, 192, 384, 768],
            head_channels=256, last_dim=32, out_channels=3)


def test_attention_kernel_flops_by_hand():
    # QK^T and AV: 2 products of n x n x C multiply-adds per block.
    assert vit_attention_flops([(45, 80)], C, 12) == 12 * 2 * 2 * C * 3600**2
    # Win-Win: the two windows attend together (968 tokens).
    assert vit_attention_flops([(22, 22)] * 2, C, 12) == 12 * 4 * C * 968**2
    # ViTDet: 8 blocks of 24 windows of 196 tokens, 4 global blocks.
    assert vit_attention_flops([(45, 80)], C, 12, window=14,
                               global_blocks=(2, 5, 8, 11)) == (
        8 * 4 * C * 24 * 196 ** 2 + 4 * 4 * C * 3600 ** 2)
    # Decoder: self-attention over frame 1, cross-attention to frame 2.
    assert decoder_attention_flops(6, 10, 512, 8) == 8 * 4 * 512 * (36 + 60)
    # Full-HD flow pass: 68x120 = 8160 tokens per frame.
    n = 8160
    assert flow_attention_flops((68, 120), FLOW) == (
        2 * 12 * 4 * C * n * n + 8 * 2 * 4 * 512 * n * n)
    # Each is a strict part of its total, which is unchanged by the split
    # (tests/test_benchmark.py checks the totals by hand).
    assert vit_attention_flops([(45, 80)], C, 12) < vit_flops([(45, 80)], C,
                                                              12)
    assert decoder_attention_flops(6, 10, 512, 8) < decoder_flops(
        6, 10, C, 512, 8)
    assert 0.5 < (flow_attention_flops((68, 120), FLOW)
                  / flow_pass_flops((68, 120), FLOW)) < 1


def test_case_attention_flops_follows_the_case():
    specs = model_specs('b', quick=False)
    cases = {c.name: c.to_dict() for c in build_cases(batch=2)}
    seg = specs['seg']
    # a training step is 3x the forward, times the batch
    assert case_attention_flops(cases['winwin_2x22@b2'], specs, False) == (
        3 * 2 * vit_attention_flops([(22, 22)] * 2, seg['dim'],
                                    seg['layers']))
    assert case_attention_flops(cases['seg_whole'], specs, False) == (
        vit_attention_flops([(45, 80)], seg['dim'], seg['layers']))
    # 1080 pixels pad to 68 tokens
    assert case_attention_flops(cases['flow_whole'], specs, False) == (
        flow_attention_flops((68, 120), specs['flow']))
    tile = cases['flow_tile0.7']
    assert case_attention_flops(tile, specs, False) == 135 * (
        flow_attention_flops((20, 24), specs['flow']))
    assert case_attention_flops(cases['vitdet@b1'], specs, False) is None


def test_ops_fall_into_groups():
    assert op_group('aten::_scaled_dot_product_flash_attention_for_cpu_'
                    'backward') == 'attention kernel'
    assert op_group('aten::addmm') == 'matrix products'
    assert op_group('aten::mm') == 'matrix products'
    assert op_group('aten::mkldnn_convolution') == 'convolutions'
    assert op_group('aten::convolution_backward') == 'convolutions'
    assert op_group('aten::copy_') == 'copies and layout'
    assert op_group('aten::gelu') == 'element-wise and other'
    assert op_group('aten::mul') == 'element-wise and other'
    groups = group_ops({'aten::mm': [2., 5], 'aten::addmm': [1., 3],
                        'aten::gelu': [.5, 2], 'aten::copy_': [.25, 9]})
    assert list(groups) == list(GROUP_NAMES)
    assert groups['matrix products'] == 3.
    assert groups['element-wise and other'] == .5
    assert groups['convolutions'] == 0.


def test_group_rates_divide_flops_by_group_time():
    result = dict(amp='bf16', step_s=4., ops={
        'aten::_scaled_dot_product_flash_attention_for_cpu': [2., 12],
        'aten::mm': [1., 10], 'aten::mkldnn_convolution': [1., 4],
        'aten::add': [4., 50]})
    peaks = dict(fp32=0.25, bf16=1.)
    g = group_rates(result, flops=10e12, attention_flops=1e12, peaks=peaks)
    assert g['attention kernel']['seconds'] == 2.
    assert g['attention kernel']['share'] == pytest.approx(0.25)
    assert g['attention kernel']['tflops_per_s'] == pytest.approx(0.5)
    assert g['attention kernel']['peak_fraction'] == pytest.approx(0.5)
    # 9 TFLOP of matmul + conv products in 2 s against a 1 TFLOP/s peak
    assert g['products']['tflops_per_s'] == pytest.approx(4.5)
    assert g['products']['peak_fraction'] == pytest.approx(4.5)
    result['groups'] = g
    text = format_groups([result])
    assert 'attention kernel (QK, AV): 1000.0 GFLOP at 0.500 TFLOP/s = ' \
        '50.0 % of the bf16 peak' in text
    # without an attention split (ViTDet) only times are given
    assert 'products' not in group_rates(result, 10e12, None, peaks)


def test_profile_ops_runs_the_one_pass_flow_case():
    r = profile_ops('flow_whole', '', warmup=0, quick=True)
    assert r['amp'] == 'fp32' and r['step_s'] > 0
    groups = group_ops(r['ops'])
    # the flow pass attends (SDPA) and runs the DPT head's convolutions
    assert groups['attention kernel'] > 0 and groups['convolutions'] > 0
    assert sum(groups.values()) == pytest.approx(
        sum(s for s, _ in r['ops'].values()))
    # no backward in an inference pass
    assert not [k for k in r['ops'] if 'backward' in k]
