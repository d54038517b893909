"""The paired A/B tool (fp32 vs bf16, eager vs compiled, before vs after a
code change), the op-level profile table, the loss-curve reader and the
benchmark's ``compile`` option. No timing assertions."""
import json

import pytest
import torch

from analysis_tools.benchmark.ab import format_ab, parse_variant
from analysis_tools.benchmark.loss_curves import plot_curves, read_loss
from analysis_tools.benchmark.op_profile import format_ops
from analysis_tools.benchmark.steps import compile_blocks


def test_parse_variant_reads_label_and_options():
    assert parse_variant('fp32:') == ('fp32', dict(compile=False))
    name, o = parse_variant('after:amp=bf16,compile=1,src=/tmp/x')
    assert name == 'after'
    assert o == dict(amp='bf16', compile=True, src='/tmp/x')
    with pytest.raises(ValueError, match='keys'):
        parse_variant('x:threads=2')
    with pytest.raises(ValueError, match='label'):
        parse_variant(':amp=bf16')


def test_format_ab_states_ratio_and_peak_fraction():
    res = dict(case='winwin_2x22@b1', flops=2e12, names=['a', 'b'],
               peaks=dict(fp32=0.1, bf16=0.5),
               times_s=dict(a=[20., 22.], b=[10., 11.]),
               ratios=[2., 2.], ratio_median=2., ratio_min=2., ratio_max=2.,
               variants=dict(
                   a=dict(median_s=21., precision='fp32',
                          tflops_per_s=2 / 21, peak_fraction=2 / 21 / 0.1),
                   b=dict(median_s=10.5, precision='bf16',
                          tflops_per_s=2 / 10.5, peak_fraction=2 / 10.5 / .5,
                          activation_mem_bytes=2 ** 30)))
    text = format_ab(res)
    assert 'b vs a: 2.000x faster' in text
    assert '95.2 % of the fp32 peak' in text  # 2/21 / 0.1
    assert '38.1 % of the bf16 peak, activation 1.00 GiB' in text


def test_format_ops_lists_each_run_side_by_side():
    runs = [dict(amp='fp32', step_s=2., ops={'aten::mm': [1.5, 10],
                                             'aten::add': [.2, 4]}),
            dict(amp='bf16', step_s=1., ops={'aten::copy_': [.3, 7],
                                             'aten::mm': [.2, 10]})]
    lines = format_ops(runs, rows=1).splitlines()
    assert lines[1].split() == ['aten::mm', '1.500', '10', '0.200', '10']
    # the largest row of the second run is added, zero where absent
    assert lines[2].split() == ['aten::copy_', '0.000', '0', '0.300', '7']
    assert lines[-2].split()[-2:] == ['1.700', '0.500']


def test_read_loss_skips_validation_records(tmp_path):
    path = tmp_path / 'scalars.json'
    rows = [dict(loss=2.0, iter=25, step=25), dict(loss=1.5, iter=50,
                                                   step=50),
            {'mIoU': 40.0, 'step': 50}]
    path.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    assert read_loss(str(path)) == ([25, 50], [2.0, 1.5])
    out = tmp_path / 'curves.png'
    plot_curves({'a': ([25, 50], [2.0, 1.5])}, str(out))
    assert out.stat().st_size > 0


def test_compile_blocks_only_with_the_option():
    from winwin_mm.models.layers import RoPEBlock
    model = torch.nn.Sequential(RoPEBlock(8, 2), torch.nn.Linear(8, 8),
                                RoPEBlock(8, 2))
    assert compile_blocks(model, dict(compile=False)) == 0
    assert compile_blocks(model, dict(compile=True)) == 2
    import torch._dynamo.config as dynamo_config
    assert dynamo_config.recompile_limit >= 2 + 8  # every block compiles
    # nn.Module.compile keeps the module (names, hooks) and sets the
    # compiled call on it.
    assert isinstance(model[0], RoPEBlock)
    assert callable(model[0]._compiled_call_impl)
    assert getattr(model[1], '_compiled_call_impl', None) is None


@pytest.mark.slow
def test_micro_attention_runs_and_the_candidate_rope_is_exact(capsys):
    from analysis_tools.benchmark.micro_attention import (candidate_rope,
                                                          main)
    from winwin_mm.models.layers.rope import apply_rope_2d, rope_2d_tables
    x = torch.randn(1, 2, 8, 16)
    tables = rope_2d_tables(torch.randint(0, 9, (1, 8, 2)), 16)
    torch.testing.assert_close(candidate_rope(x, *tables),
                               apply_rope_2d(x, *tables))
    main(['--grid', '2', '4', '--heads', '2', '--head-dim', '16'])
    out = capsys.readouterr().out
    assert out.count('SDPA fwd+bwd') == 2 and out.count('RoPE q+k') == 3


def test_chunked_attention_equals_sdpa(capsys):
    from analysis_tools.benchmark.micro_attention import (chunked_attention,
                                                          main)
    q, k, v = (torch.randn(1, 2, 10, 8) for _ in range(3))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    for chunk in (3, 10, 16):  # uneven, exact, larger than the tokens
        torch.testing.assert_close(chunked_attention(q, k, v, chunk), ref)
    main(['--inference', '--grid', '2', '3', '--heads', '2', '--head-dim',
          '8', '--chunks', '4'])
    out = capsys.readouterr().out  # fp32 and bf16, SDPA and one chunking
    assert out.count('6 tokens, forward SDPA') == 2
    assert out.count('forward explicit, 4 queries per chunk') == 2


@pytest.mark.slow
def test_run_ab_pairs_two_processes_one_from_another_tree():
    from analysis_tools.benchmark.ab import run_ab
    from e2e_helpers import ROOT
    res = run_ab('winwin_2x22', [parse_variant('here:'),
                                 parse_variant(f'there:src={ROOT}')],
                 rounds=2, warmup=0, quick=True, threads=1)
    assert res['names'] == ['here', 'there'] and len(res['ratios']) == 2
    assert res['ratios'] == [a / b for a, b in zip(res['times_s']['here'],
                                                   res['times_s']['there'])]
    for v in res['variants'].values():
        assert v['precision'] == 'fp32' and v['median_s'] > 0
        assert v['peak_fraction'] == pytest.approx(
            res['flops'] / v['median_s'] / 1e12 / res['peaks']['fp32'])
    with pytest.raises(ValueError, match='exactly two'):
        run_ab('winwin_2x22', [parse_variant('a:')], 1, quick=True)


@pytest.mark.slow
def test_run_ab_times_an_inference_case():
    # The one-pass flow case (the Full-HD pass at full size), fp32 vs bf16.
    from analysis_tools.benchmark.ab import run_ab
    from analysis_tools.benchmark.cases import build_cases
    from analysis_tools.benchmark.report import case_flops, model_specs
    res = run_ab('flow_whole', [parse_variant('fp32:'),
                                parse_variant('bf16:amp=bf16')],
                 rounds=1, warmup=0, quick=True, threads=1)
    case = [c for c in build_cases(True, 1, ['flow_whole'])
            if c.base == 'flow_whole'][0]
    assert res['case'] == 'flow_whole'
    assert res['flops'] == case_flops(case.to_dict(), model_specs('b', True),
                                      True)
    assert res['variants']['bf16']['precision'] == 'bf16'
    assert res['variants']['bf16']['peak_fraction'] == pytest.approx(
        res['flops'] / res['variants']['bf16']['median_s'] / 1e12
        / res['peaks']['bf16'])
