"""mmseg's DepthMetric as our NYU configs use it, against hand computations:
per-image metrics averaged over images, validity range, NYU eval crop, and
millimetre PNG output (depth_rescale_factor convention)."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS

import winwin_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
NYU_CONFIG = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win14_nyu.py')


def hand_metrics(gt: np.ndarray, pred: np.ndarray) -> dict:
    """The standard monocular-depth metrics on valid pixels (float64)."""
    ratio = np.maximum(gt / pred, pred / gt)
    err, log_err = pred - gt, np.log(pred) - np.log(gt)
    return dict(
        d1=np.mean(ratio < 1.25), d2=np.mean(ratio < 1.25**2),
        d3=np.mean(ratio < 1.25**3), abs_rel=np.mean(np.abs(err) / gt),
        sq_rel=np.mean(err**2 / gt), rmse=np.sqrt(np.mean(err**2)),
        rmse_log=np.sqrt(np.mean(log_err**2)),
        log10=np.mean(np.abs(np.log10(pred) - np.log10(gt))),
        silog=np.sqrt(np.mean(log_err**2) - 0.5 * np.mean(log_err)**2))


def run_metric(cfg: dict, pairs) -> dict:
    init_default_scope('mmseg')
    metric = METRICS.build(cfg)
    samples = [dict(pred_depth_map=dict(data=torch.from_numpy(p)[None]),
                    gt_depth_map=dict(data=torch.from_numpy(g)[None]),
                    img_path=f'img_{i}.jpg')
               for i, (g, p) in enumerate(pairs)]
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_two_images_match_hand_computation():
    gt_a = np.array([[1.0, 2.0, 4.0], [0.0, 12.0, 5.0]], np.float32)
    pred_a = np.array([[1.2, 1.0, 4.0], [3.0, 11.0, 9.0]], np.float32)
    gt_b = np.array([[2.0, 2.0], [8.0, 0.5]], np.float32)
    pred_b = np.array([[2.4, 3.0], [7.0, 0.5]], np.float32)
    out = run_metric(dict(type='DepthMetric', min_depth_eval=1e-3,
                          max_depth_eval=10.0),
                     [(gt_a, pred_a), (gt_b, pred_b)])
    # Image a: 0 (invalid) and 12 m (beyond 10 m) are not evaluated.
    keep_a = np.array([[1, 1, 1], [0, 0, 1]], bool)
    per_image = [hand_metrics(gt_a[keep_a].astype(np.float64),
                              pred_a[keep_a].astype(np.float64)),
                 hand_metrics(gt_b.astype(np.float64).ravel(),
                              pred_b.astype(np.float64).ravel())]
    # By hand for image a: ratios 1.2, 2, 1, 1.8 -> d1 = 2/4, d2 = 2/4
    # (1.8 > 1.5625), d3 = 4/4; rmse = sqrt((.04 + 1 + 0 + 16) / 4).
    assert per_image[0]['d1'] == 0.5 and per_image[0]['d2'] == 0.5
    assert per_image[0]['rmse'] == pytest.approx(np.sqrt(17.04 / 4))
    assert set(out) == set(hand_metrics(gt_b, pred_b))
    for key, value in out.items():
        expected = (per_image[0][key] + per_image[1][key]) / 2
        assert value == pytest.approx(expected, rel=1e-5, abs=1e-6), key


def test_mean_over_images_not_over_pixels():
    """DepthMetric averages per-image values: a 1-pixel image weighs as
    much as a 6-pixel one."""
    gt_a = np.full((2, 3), 2.0, np.float32)
    pred_a = np.full((2, 3), 2.0, np.float32)  # perfect, 6 pixels
    gt_b = np.array([[2.0]], np.float32)
    pred_b = np.array([[4.0]], np.float32)  # ratio 2: fails d1 and d2
    out = run_metric(dict(type='DepthMetric'), [(gt_a, pred_a),
                                                (gt_b, pred_b)])
    assert out['d1'] == pytest.approx(0.5)  # pooled would be 6/7
    assert out['abs_rel'] == pytest.approx(0.5)  # (0 + 1) / 2
    assert out['rmse'] == pytest.approx(1.0)  # (0 + 2) / 2


def test_nyu_crop_ignores_the_border():
    """'nyu_crop' evaluates rows 45..470 and columns 41..600 of a 480x640
    map only (mmseg's and the usual NYUv2 protocol)."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.5, 9.5, (480, 640)).astype(np.float32)
    pred = (gt * rng.uniform(0.8, 1.3, gt.shape)).astype(np.float32)
    garbage = pred.copy()
    inside = np.zeros(gt.shape, bool)
    inside[45:471, 41:601] = True
    garbage[~inside] = 0.01  # terrible outside the crop
    cfg = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
               crop_type='nyu_crop')
    out = run_metric(cfg, [(gt, garbage)])
    expected = hand_metrics(gt[inside].astype(np.float64),
                            pred[inside].astype(np.float64))
    for key, value in out.items():
        assert value == pytest.approx(expected[key], rel=1e-4), key
    assert run_metric(dict(cfg, crop_type=None), [(gt, garbage)])['d1'] < \
        expected['d1'] - 0.1


def test_nyu_config_evaluator_and_millimetre_output(tmp_path):
    cfg = Config.fromfile(NYU_CONFIG)
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg[key]
        assert ev.type == 'DepthMetric' and ev.crop_type == 'nyu_crop'
        assert ev.min_depth_eval == 1e-3 and ev.max_depth_eval == 10.0
        assert ev.depth_scale_factor == 1000.0
    assert cfg.model.decode_head.max_depth == 10.0
    loads = [t for t in cfg.test_dataloader.dataset.pipeline
             if t.type == 'LoadDepthAnnotation']
    assert loads[0].depth_rescale_factor == 1e-3  # mm PNG -> metres
    # tools/test.py --out sets output_dir: predictions written in mm, the
    # format of the ground-truth PNGs.
    pred = np.array([[2.5, 0.75], [4.25, 1.0]], np.float32)
    run_metric(dict(cfg.test_evaluator, output_dir=str(tmp_path)),
               [(pred.copy(), pred)])
    png = mmcv.imread(str(tmp_path / 'img_0.png'), flag='unchanged')
    assert png.dtype == np.uint16
    np.testing.assert_array_equal(png, [[2500, 750], [4250, 1000]])
