"""End to end: tools/train.py then tools/test.py (whole image, slide tiling
and --out) on a tiny dataset in the real NYUv2 layout, with the paper's NYU
config shrunk through --cfg-options, as a user would."""
import json
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest
from e2e_helpers import ROOT
from e2e_helpers import tiny_nyu_options as _options
from e2e_helpers import run_tool as _run

from winwin_mm.datasets import generate_nyu_layout

CONFIG = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win14_nyu.py')
METRICS = ('d1', 'd2', 'd3', 'abs_rel', 'sq_rel', 'rmse', 'rmse_log',
           'log10', 'silog')


def _test_metrics(log: str) -> dict:
    line = [l for l in log.splitlines() if 'Iter(test)' in l and 'd1:' in l]
    assert line, log[-3000:]
    return {k: float(v) for k, v in re.findall(
        r'(\w+): (-?[0-9.]+(?:e-?\d+)?|nan)', line[-1]) if k in METRICS}


@pytest.fixture(scope='module')
def nyu_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('nyu')
    generate_nyu_layout(str(root), 'train', 6, (96, 128), 0)
    generate_nyu_layout(str(root), 'test', 2, (96, 128), 0)
    return root


@pytest.mark.slow
def test_train_then_test_whole_and_slide(nyu_root, tmp_path):
    work = tmp_path / 'work'
    opts = _options(nyu_root)
    log = _run(osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
               str(work), '--cfg-options', *opts)
    ckpt = work / 'iter_3.pth'
    assert ckpt.exists()
    # Windows reached the loss during training; whole training images are
    # only used by the temperature tuning after the last iteration.
    tuning = log.index('TemperatureTuningHook: tuning')
    assert 'Iter(train) [3/3]' in log[:tuning]
    assert 'no "windows"' not in log[:tuning]
    report = work / 'temperature' / 'temperature.json'
    assert json.loads(report.read_text())

    test = osp.join(ROOT, 'tools', 'test.py')
    out_dir = tmp_path / 'pred'
    whole = _test_metrics(_run(test, CONFIG, str(ckpt), '--work-dir',
                               str(tmp_path / 'test'), '--out', str(out_dir),
                               '--cfg-options', *opts))
    assert set(whole) == set(METRICS)
    assert all(np.isfinite(v) for v in whole.values())
    assert 0 <= whole['d1'] <= whole['d2'] <= whole['d3'] <= 1
    # --out: one uint16 PNG per test image, in millimetres like the GT.
    pngs = sorted(os.listdir(out_dir))
    assert len(pngs) == 2
    pred = mmcv.imread(str(out_dir / pngs[0]), flag='unchanged')
    assert pred.dtype == np.uint16 and pred.shape == (96, 128)
    assert 0 < pred.min() and pred.max() < 10000

    slide = _test_metrics(_run(
        test, CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'slide'),
        '--cfg-options', *opts, 'model.test_cfg.mode=slide',
        'model.test_cfg.crop_size=(64,64)', 'model.test_cfg.stride=(32,32)'))
    assert set(slide) == set(METRICS)
    assert slide != whole  # tiles lose the global context
