"""``tools/benchmark.py --suite inference``: the rows, pass counts, ratios
and accuracy change are computed as documented (no timing assertions)."""
import json
import subprocess
import sys

import pytest

from analysis_tools.benchmark.inference import (accuracy_change, add_ratios,
                                                build_rows,
                                                run_inference_benchmark)
from e2e_helpers import ROOT


def test_rows_and_pass_counts():
    rows = {r.name: r for r in build_rows(False, 2, 1)}
    assert len(rows) == 10
    # 1280x720 in 160x160 tiles, stride 80: 8 x 15 mmseg slide passes
    assert rows['seg_slide_fp32'].passes == 8 * 15
    # 1920x1080 in 384x256 tiles at overlap 0.7: 12 rows x 15 columns
    assert rows['flow_tile_bf16'].passes == 12 * 15
    assert rows['flow_tile_bf16'].reference == 'flow_whole_bf16'
    assert rows['seg_onnx_fp32'].reference == 'seg_whole_fp32'
    assert rows['flow_whole_fp32'].items == 1
    assert 'onnx' not in ''.join(r.name for r in build_rows(True, 1, 1,
                                                            onnx=False))


def _res(name, precision, round_s, items=2, ref=None):
    return dict(name=name, precision=precision, round_s=round_s,
                items=items, reference=ref or name)


def test_ratios():
    res = [_res('seg_whole_fp32', 'fp32', [1.0, 3.0, 2.0]),
           _res('seg_slide_fp32', 'fp32', [8.0], ref='seg_whole_fp32'),
           _res('seg_whole_bf16', 'bf16', [0.5]),
           _res('seg_slide_bf16', 'bf16', [4.0], ref='seg_whole_bf16'),
           dict(_res('seg_onnx_fp32', 'fp32', [], ref='seg_whole_fp32'),
                error='not measured')]
    add_ratios(res)
    r = {x['name']: x for x in res}
    assert r['seg_whole_fp32']['time_per_item_s'] == 1.0  # median 2 s / 2
    assert r['seg_whole_fp32']['items_per_s'] == 1.0
    assert r['seg_slide_fp32']['items_per_s'] == 0.25
    assert r['seg_slide_fp32']['ratio'] == 4.0  # one pass 4x faster
    assert r['seg_whole_bf16']['bf16_speedup'] == 4.0
    assert r['seg_slide_bf16']['ratio'] == 8.0
    assert r['seg_slide_bf16']['bf16_speedup'] == 0.5 / 0.25
    assert r['seg_onnx_fp32']['items_per_s'] is None
    assert r['seg_onnx_fp32']['ratio'] is None


def test_accuracy_change():
    a = accuracy_change(dict(mIoU=55.5), dict(mIoU=55.0), 'mIoU')
    assert a == dict(metric='mIoU', fp32=55.5, bf16=55.0, change=-0.5)
    assert accuracy_change(None, dict(EPE=1.0), 'EPE')['change'] is None


@pytest.mark.slow
def test_quick_run_writes_consistent_report(tmp_path):
    out = run_inference_benchmark(str(tmp_path), quick=True, seg_items=2,
                                  flow_items=1, warmup=0, repeats=1,
                                  onnx=False)
    rows = {r['name']: r for r in out['rows']}
    assert len(rows) == 8 and not any(r.get('error') for r in rows.values())
    for r in rows.values():
        assert len(r['round_s']) == 1
        assert r['items_per_s'] == pytest.approx(r['items'] / r['round_s'][0])
        ref = rows[r['reference']]
        assert r['ratio'] == pytest.approx(ref['items_per_s']
                                           / r['items_per_s'])
    assert rows['seg_slide_bf16']['bf16_speedup'] == pytest.approx(
        rows['seg_slide_bf16']['items_per_s']
        / rows['seg_slide_fp32']['items_per_s'])
    saved = json.load(open(tmp_path / 'inference.json'))
    assert [r['name'] for r in saved['rows']] == list(rows)
    assert saved['meta']['weights'].startswith('random')
    text = open(tmp_path / 'inference.txt').read()
    assert 'flow_tile_fp32' in text and 'not measured' in text  # accuracy


@pytest.mark.slow
def test_cli_suite_choice(tmp_path):
    """The CLI reaches the inference suite (ONNX rows off: seconds)."""
    subprocess.run([sys.executable, 'tools/benchmark.py', '--suite',
                    'inference', '--quick', '--no-onnx', '--warmup-infer',
                    '0', '--repeats-infer', '1', '--seg-items', '1',
                    '--out', str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    saved = json.load(open(tmp_path / 'inference.json'))
    assert len(saved['rows']) == 8
    assert all(r['items'] == 1 for r in saved['rows'])


def test_accuracy_change_numpy_scalars_to_json():
    import numpy as np
    a = accuracy_change(dict(EPE=np.float32(8.25)), dict(EPE=np.float32(
        8.5)), 'EPE')
    assert json.loads(json.dumps(a)) == dict(metric='EPE', fp32=8.25,
                                             bf16=8.5, change=0.25)
