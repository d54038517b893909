"""FlowMetric against hand computations: pixel weighting over pairs of
different sizes, validity, KITTI Fl, speed bins, Spring's 2x rule, .flo
output."""
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from winwin_mm.evaluation import FlowMetric, flow_epe_map

nan = float('nan')


def sample(pred, gt, valid=None, img_path='seq/frame_0001.png',
           gt_flow_scale=None):
    """A model output as the evaluator hands it to the metric (a dict)."""
    s = SegDataSample(metainfo=dict(img_path=img_path))
    if gt_flow_scale is not None:  # declared by the dataset (Spring: 2)
        s.set_metainfo(dict(gt_flow_scale=gt_flow_scale))
    s.pred_flow = PixelData(data=torch.tensor(pred, dtype=torch.float32))
    if gt is not None:
        gt = torch.tensor(gt, dtype=torch.float32)
        s.gt_flow = PixelData(data=gt)
        if valid is None:
            valid = np.ones(gt.shape[1:], np.uint8)
        s.gt_flow_valid = PixelData(
            data=torch.tensor(valid, dtype=torch.uint8)[None])
    return s.to_dict()


def uv(u, v):
    """(2, h, w) from per-pixel u and v lists."""
    return np.stack([np.array(u, np.float32), np.array(v, np.float32)])


# Pair A (2x3): pred 0. EPEs 0.5, 5, 10 / 2, NaN GT, masked-out 50.
A = sample(np.zeros((2, 2, 3)),
           uv([[0.3, 3, 6], [0, nan, 30]], [[0.4, 4, 8], [2, nan, 40]]),
           valid=[[1, 1, 1], [1, 1, 0]])
# Pair B (1x3): pred (1, 0). EPE 0 (norm 1), 40 (norm 41), ||gt|| >= 1e4.
B = sample(uv([[1, 1, 1]], [[0, 0, 0]]), uv([[1, 41, 2e4]], [[0, 0, 0]]))


def run(metric, batches):
    for batch in batches:
        metric.process({}, batch)
    return metric.evaluate(sum(len(b) for b in batches))


def test_pixel_weighted_over_pairs_of_different_sizes():
    m = METRICS.build(dict(type='FlowMetric'))
    res = run(m, [[A], [B]])  # two batches
    # 6 valid pixels, EPEs 0.5, 5, 10, 2, 0, 40
    assert res['EPE'] == pytest.approx(57.5 / 6)
    assert res['EPE'] != pytest.approx((17.5 / 4 + 40 / 2) / 2)  # not a
    # mean of means
    assert res['bad0.5'] == pytest.approx(100 * 4 / 6)
    assert res['bad1'] == pytest.approx(100 * 4 / 6)
    assert res['bad3'] == pytest.approx(100 * 3 / 6)
    assert res['bad5'] == pytest.approx(100 * 2 / 6)  # 5 is not > 5
    # Fl: EPE > 3 and > 5 % of ||gt||: 5 (of 5), 10 (of 10), 40 (of 41)
    assert res['Fl'] == pytest.approx(100 * 3 / 6)
    # ||gt||: 0.5, 5, 2, 1 -> s0-10; 10 -> s10-40; 41 -> s40+
    assert res['s0-10'] == pytest.approx(7.5 / 4)
    assert res['s10-40'] == pytest.approx(10)
    assert res['s40+'] == pytest.approx(40)
    # Same numbers whatever the batching.
    m2 = FlowMetric()
    assert run(m2, [[B, A]]) == pytest.approx(res)


def test_fl_needs_both_conditions():
    # EPE 4 > 3 but < 5 % of ||gt|| = 100: not an outlier
    m = FlowMetric()
    res = run(m, [[sample(uv([[104]], [[0]]), uv([[100]], [[0]]))]])
    assert res['EPE'] == pytest.approx(4) and res['Fl'] == 0
    assert res['bad3'] == 100 and math.isnan(res['s0-10'])


def test_spring_rule_min_over_four_sub_pixels():
    pred = uv([[1, 0, 0]], [[0, 0, 0]])  # 1 x 3
    gt = np.zeros((2, 2, 6), np.float32)
    valid = np.ones((2, 6), np.uint8)
    # pixel 0: sub-pixels (9,9) (5,0) / (0,0) (1,0): min EPE 0 (the last)
    gt[:, 0, 0], gt[:, 0, 1], gt[:, 1, 0], gt[:, 1, 1] = (9, 9), (5, 0), \
        (0, 0), (1, 0)
    # pixel 1: (6,8) EPE 10, NaN / invalid (0,0), (3,4) EPE 5: min 5
    gt[:, 0, 2], gt[:, 0, 3], gt[:, 1, 2], gt[:, 1, 3] = (6, 8), (nan, nan), \
        (0, 0), (3, 4)
    valid[1, 2] = 0
    # pixel 2: no valid sub-pixel
    valid[:, 4:] = 0
    epe, norm, mask = flow_epe_map(torch.tensor(pred), torch.tensor(gt),
                                   torch.tensor(valid)[None], gt_scale=2)
    assert mask.tolist() == [[True, True, False]]
    assert epe[0, :2].tolist() == pytest.approx([0, 5])
    assert norm[0, 1] == pytest.approx(5)
    res = run(FlowMetric(), [[sample(pred, gt, valid, gt_flow_scale=2)]])
    assert res['EPE'] == pytest.approx(2.5)
    assert res['Fl'] == pytest.approx(50)
    with pytest.raises(ValueError, match='gt_flow_scale=1 times'):
        flow_epe_map(torch.zeros(2, 2, 2), torch.zeros(2, 6, 6))
    # The 2x rule is declared, never guessed from the sizes: undeclared
    # 2x ground truth (or a prediction left at a padded size) is an error.
    with pytest.raises(ValueError, match='2x6 pixels is not gt_flow_scale'):
        run(FlowMetric(), [[sample(pred, gt, valid)]])
    with pytest.raises(ValueError, match='is not gt_flow_scale=1 times'):
        run(FlowMetric(), [[sample(np.zeros((2, 8, 16), np.float32),
                                   np.zeros((2, 6, 16), np.float32))]])


def test_output_dir_writes_flo_named_after_frame1(tmp_path):
    out = str(tmp_path / 'pred')
    pred = uv([[1.5, -2]], [[0.25, 3]])
    m = FlowMetric(output_dir=out, format_only=True, keep_results=True)
    res = run(m, [[sample(pred, None, img_path='/d/clean/alley_1/'
                          'frame_0007.png')]])
    assert res == {}
    path = osp.join(out, 'alley_1', 'frame_0007.flo')
    np.testing.assert_allclose(mmcv.flowread(path),
                               pred.transpose(1, 2, 0))
    m = FlowMetric(output_dir=out, name_depth=3)
    assert m.flo_path('/s/0041/frame_left/frame_left_0001.png') == osp.join(
        out, '0041', 'frame_left', 'frame_left_0001.flo')
    with pytest.raises(ValueError, match='output_dir'):
        FlowMetric(format_only=True)


def test_no_valid_pixel_is_an_error():
    m = FlowMetric()
    m.process({}, [sample(np.zeros((2, 1, 1)), uv([[nan]], [[nan]]))])
    with pytest.raises(ValueError, match='no valid'):
        m.evaluate(1)
