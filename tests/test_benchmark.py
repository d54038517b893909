"""tools/benchmark.py at --quick sizes, the analytic FLOP counts, bf16
autocast on CPU. No timing assertions."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from analysis_tools.benchmark import (ALL_BASES, build_cases,
                                      convnext_head_flops, flow_pass_flops,
                                      seg_step_flops, vit_flops)
from analysis_tools.benchmark.cases import slide_passes, window_boxes
from analysis_tools.benchmark.models import build, flow_config, seg_config
from e2e_helpers import ROOT

FIELDS = ('name', 'base', 'group', 'label', 'image', 'batch', 'reference',
          'time_s', 'times_s', 'extrapolated', 'peak_mem_bytes',
          'baseline_mem_bytes', 'state_mem_bytes', 'activation_mem_bytes',
          'memory_kind', 'flops', 'time_ratio', 'flop_ratio', 'mem_ratio',
          'images_per_s', 'tflops_per_s', 'mfu', 'peak_fraction', 'precision')


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench')
    # Batch 1 only: every setting once, a fresh process each and on CPU a
    # second one for the memory (about 4 min on 2 idle cores, mostly
    # imports; 8.5 min measured on shared cores).
    proc = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--quick', '--batch', '1',
         '--warmup', '0', '--repeats', '1', '--warmup-infer', '0',
         '--repeats-infer', '1', '--max-tiles', '16', '--out', str(out)],
        cwd=ROOT, text=True, capture_output=True, timeout=1800)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    with open(out / 'benchmark.json') as f:
        return json.load(f), log, out


@pytest.mark.slow
def test_every_case_runs_with_every_field(quick_run):
    report, log, out = quick_run
    cases = {c['name']: c for c in report['cases']}
    expected = {c.name for c in build_cases(quick=True, batch=1)}
    assert set(cases) == expected
    assert {c['base'] for c in cases.values()} == set(ALL_BASES)
    assert {'full@b2', 'winwin_2x22@b2'} <= {
        c.name for c in build_cases(quick=True, batch=2)}
    for name, c in cases.items():
        for key in FIELDS:
            assert key in c, (name, key)
        assert c['time_s'] > 0 and c['flops'] > 0, name
        assert c['peak_mem_bytes'] >= c['baseline_mem_bytes'] > 0, name
        assert name in log  # progress and table name every case
    # The reference rows have ratio 1; tiling needs many passes.
    assert cases['full@b1']['time_ratio'] == 1.0
    assert cases['seg_slide']['extra']['passes'] == slide_passes(
        (144, 256), (64, 64), (32, 32)) == 4 * 7
    # CroCo's rule n = 1 + ceil((T - w) / ((1 - overlap) w)) in floating
    # point: (1 - 0.9) * 64 is just under 6.4, so 64 / it rounds up to 11.
    assert cases['flow_tile0.9']['extra']['passes'] == 7 * 12
    assert cases['flow_tile0.7']['extra']['passes'] == 3 * 5
    # 0.7 (15 tiles) is timed in full, 0.9 (84 > 16) on 16 tiles.
    assert not cases['flow_tile0.7']['extrapolated']
    assert cases['flow_tile0.9']['extrapolated']
    assert cases['flow_tile0.9']['extra']['tiles_timed'] == 16
    # Training holds weights, gradients and AdamW states.
    assert cases['full@b1']['state_mem_bytes'] > 0
    assert osp.getsize(out / 'benchmark.png') > 10_000
    assert 'winwin_2x22@b1' in (out / 'benchmark.txt').read_text()
    assert report['meta']['quick'] and report['meta']['device'] == 'cpu'
    # The CPU is named with the instructions torch runs on (AVX2, AVX512..).
    assert torch.backends.cpu.get_cpu_capability() in \
        report['meta']['device_name']


@pytest.mark.slow  # shares the quick run (minutes) with the test above
def test_quick_flop_ratio_matches_hand_computation(quick_run):
    report, _, _ = quick_run
    cases = {c['name']: c for c in report['cases']}

    # Quick model: ViT 32 dims, 8 blocks, patch 16; ConvNeXt head 16
    # channels, 1 block, 19 classes; image 256x144 = 16x9 tokens.
    def step(tokens, attn_sq):  # MACs of one image, forward
        patch = tokens * 3 * 16 * 16 * 32
        blocks = 8 * (12 * 32 * 32 * tokens + 2 * 32 * attn_sq)
        head = tokens * 32 * 16 * 16 + tokens * 16 * (
            49 * 16 + 2 * 4 * 16 * 16 + 16 * 19)
        return patch + blocks + head

    full = step(144, 144 ** 2)
    winwin = step(32, 32 ** 2)  # 2 windows of 4x4 tokens attend together
    assert cases['winwin_2x22@b1']['flop_ratio'] == pytest.approx(
        full / winwin, rel=1e-9)
    assert cases['crop512@b1']['flop_ratio'] == pytest.approx(
        full / step(36, 36 ** 2), rel=1e-9)


def test_vitb_flops_by_hand():
    # ViT-B/16 at 1280x720: 80x45 = 3600 tokens; Win-Win: 2 x 22x22 = 968.
    C = 768

    def vit(n, attn_sq):  # forward multiply-adds
        return n * 768 * C + 12 * (12 * C * C * n + 2 * C * attn_sq)

    assert vit_flops([(45, 80)], C, 12) == 2 * vit(3600, 3600 ** 2)
    assert vit_flops([(22, 22)] * 2, C, 12) == 2 * vit(968, 968 ** 2)
    # ViTDet: 45x80 padded to 56x84 = 24 windows of 14x14; q/k/v/proj on
    # the 4704 padded tokens, MLP on the 3600 real ones; 4 global blocks.
    local = 4 * C * C * 4704 + 8 * C * C * 3600 + 2 * C * 24 * 196 ** 2
    glob = 12 * C * C * 3600 + 2 * C * 3600 ** 2
    assert vit_flops([(45, 80)], C, 12, window=14,
                     global_blocks=(2, 5, 8, 11)) == 2 * (
        3600 * 768 * C + 8 * local + 4 * glob)
    # ConvNeXt head: 768 -> 384*16 projection, 4 blocks at stride 4.
    head = 3600 * (768 * 384 * 16 + 16 * (4 * (49 * 384 + 8 * 384 * 384)
                                          + 384 * 19))
    assert convnext_head_flops([(45, 80)], 768, 384, 4, 19) == 2 * head
    spec = dict(dim=C, layers=12, mlp_ratio=4., patch=16, head_channels=384,
                num_convs=4, num_classes=19)
    assert seg_step_flops([(45, 80)], spec, train=True) == 3 * 2 * (
        vit(3600, 3600 ** 2) + head)


def test_flow_tiling_needs_many_more_flops():
    spec = dict(dim=768, layers=12, mlp_ratio=4., patch=16, dec_dim=768,
                dec_layers=12, head_in=[768] * 4,
                layer_dims=[96, 192, 384, 768], head_channels=256,
                last_dim=32, out_channels=3)
    whole = flow_pass_flops((68, 120), spec)
    tile = flow_pass_flops((20, 24), spec)
    cases = {c.name: c for c in build_cases()}
    # DESIGN: Spring 1080x1920 at overlap 0.9 is about 1,050 passes.
    assert cases['flow_tile0.9'].extra['passes'] == 25 * 42
    assert cases['flow_tile0.7'].extra['passes'] == 9 * 15
    assert 1050 * tile / whole > 20


def test_window_layout_and_case_selection():
    assert window_boxes([(22, 22)] * 2, (720, 1280), 16) == [
        [0, 0, 352, 352], [640, 0, 992, 352]]
    names = [c.name for c in build_cases(batch=1, bases=['winwin_2x22'])]
    assert names == ['full@b1', 'winwin_2x22@b1']
    with pytest.raises(ValueError, match='unknown cases'):
        build_cases(bases=['nope'])


def _rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def test_bf16_autocast_on_cpu_is_close_to_fp32():
    model = build(seg_config('b', quick=True)[0], 'cpu').eval()
    img = torch.randn(1, 3, 96, 128)
    boxes = torch.tensor([[[0, 0, 48, 48], [64, 32, 112, 80]]])
    with torch.no_grad():
        for windows in (None, boxes):
            ref = model.decode_head(model.backbone(img, windows))
            with torch.autocast('cpu', dtype=torch.bfloat16):
                out = model.decode_head(model.backbone(img, windows))
            assert out.dtype == torch.bfloat16
            assert _rel_err(out, ref) < 0.05
        flow = build(flow_config('b', quick=True), 'cpu').eval()
        pairs = torch.randn(1, 6, 64, 96)
        ref = flow.encode_decode(pairs)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = flow.encode_decode(pairs)
        assert _rel_err(out, ref) < 0.05


def test_bf16_training_step_on_cpu_backpropagates():
    model = build(seg_config('b', quick=True)[0], 'cpu').train()
    img = torch.randn(2, 3, 96, 128)
    boxes = torch.tensor([[[0, 0, 48, 48], [64, 32, 112, 80]]] * 2)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.decode_head(model.backbone(img, boxes))
        loss = out.float().square().mean()
    loss.backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(p.grad.dtype == torch.float32
               for p in model.backbone.parameters())


@pytest.mark.slow
def test_paired_timing_alternates_two_processes():
    """Each round times one step of each case in its own process; the
    ratios are the per-round quotients and the table reports them."""
    from analysis_tools.benchmark.paired import paired_times
    from analysis_tools.benchmark.report import format_table
    cases = {c.name: c for c in build_cases(quick=True, batch=1,
                                            bases=['winwin_2x22'])}
    opts = dict(device='cpu', amp='', arch='b', quick=True, threads=1,
                warmup=0)
    said = []
    p = paired_times(cases['full@b1'], cases['winwin_2x22@b1'], opts, 3,
                     said.append)
    assert p['base'] == 'full@b1' and p['rounds'] == 3
    assert len(p['base_times_s']) == len(p['times_s']) == 3
    assert all(t > 0 for t in p['base_times_s'] + p['times_s'])
    assert p['ratios'] == [b / c for b, c in zip(p['base_times_s'],
                                                 p['times_s'])]
    assert p['ratio_median'] == sorted(p['ratios'])[1]
    assert len(said) == 3 and said[0].startswith('round 1/3: full@b1')
    row = dict(name='winwin_2x22@b1', base='winwin_2x22', group='train',
               label='w', batch=1, extra={}, error='not shown', paired=p)
    table = format_table([row], dict(device='cpu', device_name='x', amp='',
                                     arch='b', quick=True))
    assert (f'winwin_2x22@b1 vs full@b1: median {p["ratio_median"]:.2f}x'
            in table)
    with pytest.raises(ValueError, match='rounds must be >= 1'):
        paired_times(cases['full@b1'], cases['winwin_2x22@b1'], opts, 0,
                     said.append)


def test_negative_paired_rounds_are_refused_before_any_case(tmp_path):
    from analysis_tools.benchmark import run_benchmark
    with pytest.raises(ValueError, match='--paired -1: the number of rounds'):
        run_benchmark(str(tmp_path), quick=True, paired=-1)
    assert not (tmp_path / 'benchmark.json').exists()


def test_a_failed_case_is_reported_not_fatal():
    from analysis_tools.benchmark.report import add_ratios, format_table
    ok = dict(name='full@b1', base='full', group='train', label='full',
              batch=1, reference='full@b1', extra={}, time_s=2.0,
              activation_mem_bytes=4 * 2**30, peak_mem_bytes=5 * 2**30,
              flops=4e12)
    failed = dict(name='vitdet@b1', base='vitdet', group='train',
                  label='vitdet', batch=1, reference='full@b1', extra={},
                  flops=3e12, error='case vitdet@b1 failed (exit -9)')
    results = [ok, failed]
    add_ratios(results)
    assert failed['time_ratio'] is None and failed['flop_ratio'] == 4 / 3
    table = format_table(results, dict(device='cpu', device_name='x',
                                       amp='', arch='b', quick=True))
    assert 'FAILED: case vitdet@b1 failed (exit -9)' in table


_FREED_RSS = r'''
import platform
import sys
import torch
from analysis_tools.benchmark.allocator import return_freed_memory
from analysis_tools.benchmark.measure import current_rss
if platform.libc_ver()[0] != 'glibc':
    print('no glibc')
    sys.exit()
if sys.argv[1] == 'returned':
    assert return_freed_memory()
big = torch.ones(6 * 2**20)  # 24 MiB, freed: glibc's default threshold
del big                      # rises, smaller blocks now go to its heap
r0 = current_rss()
x = torch.ones(4 * 2**20)  # 16 MiB
del x
print((current_rss() - r0) / 2**20)
'''


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['default', 'returned'])
def test_memory_run_counts_no_freed_memory(mode):
    # The CPU memory run returns freed blocks to the OS (allocator.py);
    # glibc's default keeps a freed 16 MiB block resident.
    # The script imports the helpers from tools/, as tools/benchmark.py does.
    env = dict(os.environ, PYTHONPATH=osp.join(ROOT, 'tools'))
    proc = subprocess.run([sys.executable, '-c', _FREED_RSS, mode],
                          cwd=ROOT, env=env, text=True, capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()[-1]
    if out == 'no glibc':
        pytest.skip('glibc only')
    kept = float(out)  # MiB still resident after the 16 MiB block is freed
    assert kept < 2 if mode == 'returned' else kept > 12
