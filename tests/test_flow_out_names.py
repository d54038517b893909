"""tools/test.py --out on Sintel clean + final: the two passes' same-named
frames get their own .flo files, and a collision is refused, never an
overwrite."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _sample(img_path, value):
    s = SegDataSample(metainfo=dict(img_path=img_path))
    s.pred_flow = PixelData(data=torch.full((2, 2, 3), float(value)))
    return s.to_dict()


CLEAN = '/d/Sintel/training/clean/alley_1/frame_0001.png'
FINAL = '/d/Sintel/training/final/alley_1/frame_0001.png'


def _evaluate(metric, samples):
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_both_passes_keep_their_own_files(tmp_path):
    out = str(tmp_path / 'out')
    m = METRICS.build(dict(type='FlowMetric', output_dir=out, name_depth=3,
                           format_only=True))
    _evaluate(m, [_sample(CLEAN, 1), _sample(FINAL, 2)])
    for pass_style, value in (('clean', 1), ('final', 2)):
        flo = mmcv.flowread(osp.join(out, pass_style, 'alley_1',
                                     'frame_0001.flo'))
        np.testing.assert_array_equal(flo, np.full((2, 3, 2), value))


def test_collision_is_refused_before_overwriting(tmp_path):
    out = str(tmp_path / 'out')
    m = METRICS.build(dict(type='FlowMetric', output_dir=out, name_depth=2,
                           format_only=True))
    m.process({}, [_sample(CLEAN, 1)])
    with pytest.raises(FileExistsError, match='name_depth > 2') as e:
        m.process({}, [_sample(FINAL, 2)])
    assert CLEAN in str(e.value) and FINAL in str(e.value)
    # The clean prediction is still there, unchanged.
    flo = mmcv.flowread(osp.join(out, 'alley_1', 'frame_0001.flo'))
    np.testing.assert_array_equal(flo, np.full((2, 3, 2), 1.))


def test_next_evaluation_may_rewrite_the_same_files(tmp_path):
    """Validation every N iterations writes the same frames again."""
    out = str(tmp_path / 'out')
    m = METRICS.build(dict(type='FlowMetric', output_dir=out,
                           format_only=True))
    _evaluate(m, [_sample(CLEAN, 1)])
    _evaluate(m, [_sample(CLEAN, 3)])
    flo = mmcv.flowread(osp.join(out, 'alley_1', 'frame_0001.flo'))
    np.testing.assert_array_equal(flo, np.full((2, 3, 2), 3.))


def test_sintel_configs_keep_the_pass_in_the_name(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'winwin',
                                   'vitb_flow_sintel.py'))
    passes = cfg.test_dataloader.dataset.pass_style
    assert set(passes) == {'clean', 'final'}
    # What tools/test.py --out DIR does.
    evaluator = dict(cfg.test_evaluator, output_dir=str(tmp_path),
                     format_only=True)
    m = METRICS.build(evaluator)
    assert m.flo_path(FINAL) == osp.join(str(tmp_path), 'final', 'alley_1',
                                         'frame_0001.flo')
    _evaluate(m, [_sample(CLEAN, 1), _sample(FINAL, 2)])
    assert len(list(tmp_path.rglob('*.flo'))) == 2
