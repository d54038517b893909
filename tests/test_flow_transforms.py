"""Flow pair transforms: hand-checked vectors for scale, flip, sparse resize,
crop consistency, colour jitter and packing."""
import numpy as np
import pytest
import torch
from mmengine.runner import set_random_seed

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import TRANSFORMS
from winwin_mm.datasets.transforms import (FlowColorJitter, FlowRandomCrop,
                                           FlowRandomFlip, FlowRandomScale,
                                           PackFlowInputs, resize_flow,
                                           resize_sparse_flow)


def pair(h=8, w=12, flow=(3., -2.), seed=0):
    """A results dict as LoadFlowPair produces it."""
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
    img2 = rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
    gt = np.empty((h, w, 2), np.float32)
    gt[...] = flow
    return dict(img=img, img2=img2, gt_flow=gt,
                gt_flow_valid=np.ones((h, w), bool), img_path='a/f1.png',
                img2_path='a/f2.png', flow_path='a/f1.flo',
                img_shape=(h, w), ori_shape=(h, w),
                flow_fields=['gt_flow', 'gt_flow_valid'])


# ------------------------------------------------------------------ resize
def test_numpy_valid_rule_equals_the_loss_rule():
    from winwin_mm.datasets.transforms.flow_resize import flow_valid_np
    from winwin_mm.models.losses import flow_valid_mask
    rng = np.random.RandomState(0)
    flow = rng.uniform(-2e4, 2e4, (9, 11, 2)).astype(np.float32)
    flow[rng.rand(9, 11) < 0.2] = np.nan
    flow[0, 0, 0], flow[0, 1, 1], flow[0, 2] = np.inf, -np.inf, (6e3, 8e3)
    valid = rng.rand(9, 11) > 0.3
    for v in (None, valid):
        ref = flow_valid_mask(
            torch.from_numpy(flow).permute(2, 0, 1)[None],
            None if v is None else torch.from_numpy(v)[None])[0].numpy()
        got = flow_valid_np(flow, v)
        assert got.dtype == bool and 0 < got.sum() < got.size
        np.testing.assert_array_equal(got, ref)


def test_resize_constant_flow_scales_vectors():
    # (3, -2) scaled by (2, 0.5) -> (6, -1)
    flow = np.tile(np.float32([3, -2]), (8, 12, 1))
    out, valid = resize_flow(flow, np.ones((8, 12), bool), (4, 24))
    assert out.shape == (4, 24, 2) and valid.all()
    np.testing.assert_allclose(out[..., 0], 6, atol=1e-5)
    np.testing.assert_allclose(out[..., 1], -1, atol=1e-5)


def test_dense_resize_never_blends_invalid_pixels():
    flow = np.tile(np.float32([1, 1]), (8, 8, 1))
    valid = np.ones((8, 8), bool)
    flow[:, 4:] = 1e9  # garbage under an invalid mask
    valid[:, 4:] = False
    out, ov = resize_flow(flow, valid, (16, 16))
    # output column 7 reads input columns 3 and 4 (invalid): unknown
    assert ov[:, :7].all() and not ov[:, 7:].any()
    np.testing.assert_allclose(out[ov], 2, atol=1e-5)  # x2 upscaling
    assert np.isnan(out[~ov]).all()


def test_sparse_resize_keeps_only_valid_vectors_scaled():
    flow = np.full((4, 6, 2), np.nan, np.float32)
    valid = np.zeros((4, 6), bool)
    flow[1, 2] = (4, -6)
    flow[3, 5] = (1, 2)
    valid[1, 2] = valid[3, 5] = True
    out, ov = resize_sparse_flow(flow, valid, (8, 12))  # x2
    # pixel centre (2.5, 1.5) -> (5, 3): target pixel (x=5, y=3)
    assert ov.sum() == 2 and ov[3, 5] and ov[7, 11]
    np.testing.assert_allclose(out[3, 5], (8, -12))
    np.testing.assert_allclose(out[7, 11], (2, 4))
    assert np.isnan(out[~ov]).all()
    # Downscaling by (0.5, 0.25): x 2.5*0.5 = 1.25 -> 1; y 1.5*0.25 -> 0
    out, ov = resize_sparse_flow(flow, valid, (1, 3))
    assert ov.sum() == 2 and ov[0, 1] and ov[0, 2]
    np.testing.assert_allclose(out[0, 1], (2, -1.5))


def test_random_scale_transform_hand_checked():
    # scale 2 in x, 0.5 in y: scale_range pinned, no stretch, always applied
    r = pair(8, 12)
    t = FlowRandomScale(crop_size=(2, 2), scale_range=(1, 1), scale_prob=1,
                        stretch_prob=0, margin=0)
    out = t(r)
    assert out['img'].shape == (16, 24, 3) and out['img2'].shape == (16, 24,
                                                                       3)
    np.testing.assert_allclose(out['gt_flow'][..., 0], 6, atol=1e-5)
    np.testing.assert_allclose(out['gt_flow'][..., 1], -4, atol=1e-5)
    assert out['img_shape'] == (16, 24) and out['scale_factor'] == (2., 2.)
    # No scale drawn, but the minimum scale for the crop is enforced.
    r = pair(8, 12)
    t = FlowRandomScale(crop_size=(10, 10), scale_prob=0, margin=2)
    out = t(r)  # needs >= 12 px on each side: factor 1.5
    assert out['img'].shape[:2] == (12, 18)
    np.testing.assert_allclose(out['gt_flow'], np.tile([4.5, -3], (12, 18,
                                                                    1)),
                               atol=1e-5)


def test_random_scale_stretch_draw_is_seeded_and_sparse_mode():
    t = FlowRandomScale(crop_size=(4, 4), scale_prob=1, stretch_prob=1,
                        margin=0)
    set_random_seed(3)
    a = t(pair(32, 32))
    set_random_seed(3)
    b = t(pair(32, 32))
    assert a['img'].shape == b['img'].shape
    fx, fy = a['scale_factor']
    assert fx != fy  # stretched
    np.testing.assert_allclose(a['gt_flow'][..., 0], 3 * fx, rtol=1e-4)
    np.testing.assert_allclose(a['gt_flow'][..., 1], -2 * fy, rtol=1e-4)
    # sparse: valid pixels stay valid only where scattered
    r = pair(16, 16)
    r['gt_flow_valid'][:] = False
    r['gt_flow_valid'][::4, ::4] = True
    r['gt_flow'][~r['gt_flow_valid']] = np.nan
    t = FlowRandomScale(crop_size=(4, 4), scale_range=(1, 1), scale_prob=1,
                        stretch_prob=0, margin=0, sparse=True)
    out = t(r)
    assert out['gt_flow_valid'].sum() == 16
    np.testing.assert_allclose(out['gt_flow'][out['gt_flow_valid']],
                               np.tile([6, -4], (16, 1)))


def test_geometric_refuses_gt_of_another_size():
    r = pair(8, 12)
    r['gt_flow'] = np.zeros((16, 24, 2), np.float32)
    with pytest.raises(ValueError, match='gt_to_image_size'):
        FlowRandomCrop((4, 4))(r)


# -------------------------------------------------------------------- flip
def test_flips_negate_the_matching_component_and_mirror_pixels():
    r = pair(6, 10)
    img, img2 = r['img'].copy(), r['img2'].copy()
    r['gt_flow'][0, 0] = (5, 7)  # a marked vector at the top-left corner
    out = FlowRandomFlip(hflip_prob=1, vflip_prob=0)(r)
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    np.testing.assert_array_equal(out['img2'], img2[:, ::-1])
    np.testing.assert_allclose(out['gt_flow'][1, 1], (-3, -2))
    np.testing.assert_allclose(out['gt_flow'][0, 9], (-5, 7))  # mirrored
    assert out['flip'] and out['flip_direction'] == 'horizontal'

    r = pair(6, 10)
    r['gt_flow'][0, 0] = (5, 7)
    out = FlowRandomFlip(hflip_prob=0, vflip_prob=1)(r)
    np.testing.assert_allclose(out['gt_flow'][1, 1], (3, 2))
    np.testing.assert_allclose(out['gt_flow'][5, 0], (5, -7))
    assert out['flip_direction'] == 'vertical'

    out = FlowRandomFlip(hflip_prob=1, vflip_prob=1)(pair(6, 10))
    np.testing.assert_allclose(out['gt_flow'][2, 2], (-3, 2))
    assert out['flip_direction'] == 'diagonal'
    out = FlowRandomFlip(hflip_prob=0, vflip_prob=0)(pair(6, 10))
    assert not out['flip'] and out['flip_direction'] is None


def test_flip_keeps_flow_consistent_with_pixels():
    # frame 2 = frame 1 shifted right by 2 px; flow u = +2
    img = np.random.RandomState(0).randint(0, 256, (4, 12, 3), np.uint8)
    img2 = np.zeros_like(img)
    img2[:, 2:] = img[:, :-2]
    r = pair(4, 12, flow=(2, 0))
    r['img'], r['img2'] = img, img2
    out = FlowRandomFlip(1, 0)(r)
    u = int(out['gt_flow'][0, 5, 0])
    assert u == -2
    np.testing.assert_array_equal(out['img2'][:, 5 + u], out['img'][:, 5])


# -------------------------------------------------------------------- crop
def test_crop_is_the_same_window_for_frames_and_gt():
    h, w = 20, 30
    r = pair(h, w)
    ys, xs = np.mgrid[:h, :w]
    r['img'][..., 0] = ys
    r['img'][..., 1] = xs
    r['img2'][..., 0] = ys
    r['img2'][..., 1] = xs
    r['gt_flow'] = np.stack([xs, ys], -1).astype(np.float32)
    r['gt_flow_valid'] = (xs % 2 == 0)
    set_random_seed(1)
    out = FlowRandomCrop((8, 10))(r)
    y0, x0 = int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])
    for key in ('img', 'img2'):
        assert out[key].shape == (8, 10, 3)
        np.testing.assert_array_equal(out[key][..., 0], ys[y0:y0 + 8,
                                                           x0:x0 + 10])
        np.testing.assert_array_equal(out[key][..., 1], xs[y0:y0 + 8,
                                                           x0:x0 + 10])
    np.testing.assert_array_equal(out['gt_flow'][..., 0], out['img'][..., 1])
    np.testing.assert_array_equal(out['gt_flow_valid'],
                                  out['img'][..., 1] % 2 == 0)
    assert out['img_shape'] == (8, 10)
    with pytest.raises(ValueError, match='FlowRandomScale'):
        FlowRandomCrop((40, 10))(pair(20, 30))


# ------------------------------------------------------------------ colour
def test_color_jitter_symmetric_and_asymmetric():
    set_random_seed(0)
    r = pair(16, 16)
    r['img2'] = r['img'].copy()
    out = FlowColorJitter(asymmetric_prob=0)(r)
    np.testing.assert_array_equal(out['img'], out['img2'])  # same jitter
    assert out['img'].dtype == np.uint8
    changed = 0
    for seed in range(5):
        set_random_seed(seed)
        r = pair(16, 16)
        orig = r['img'].copy()
        r['img2'] = r['img'].copy()
        out = FlowColorJitter(asymmetric_prob=1)(r)
        assert not np.array_equal(out['img'], out['img2'])
        changed += not np.array_equal(out['img'], orig)
    assert changed == 5
    # zero amounts = identity
    r = pair(16, 16)
    img = r['img'].copy()
    out = FlowColorJitter(0, 0, 0, 0)(r)
    np.testing.assert_array_equal(out['img'], img)


# -------------------------------------------------------------------- pack
def test_pack_flow_inputs_shapes_dtypes_metainfo():
    r = pair(8, 12)
    r['gt_flow_valid'][0, 0] = False
    r['windows'] = np.array([[0, 0, 4, 4]], np.int64)
    r['windows2'] = np.array([[4, 4, 8, 8]], np.int64)
    out = TRANSFORMS.build(dict(type='PackFlowInputs'))(r)
    x, s = out['inputs'], out['data_samples']
    assert x.shape == (6, 8, 12) and x.dtype == torch.uint8
    np.testing.assert_array_equal(x[:3].permute(1, 2, 0).numpy(), r['img'])
    np.testing.assert_array_equal(x[3:].permute(1, 2, 0).numpy(), r['img2'])
    assert s.gt_flow.data.shape == (2, 8, 12)
    assert s.gt_flow.data.dtype == torch.float32
    assert (s.gt_flow.data[0] == 3).all() and (s.gt_flow.data[1] == -2).all()
    assert s.gt_flow_valid.data.shape == (1, 8, 12)
    assert s.gt_flow_valid.data.dtype == torch.uint8
    assert s.gt_flow_valid.data[0, 0, 0] == 0 and s.gt_flow_valid.data.sum() \
        == 95
    meta = s.metainfo
    for k in ('img_path', 'img2_path', 'flow_path', 'img_shape', 'ori_shape',
              'windows', 'windows2'):
        assert k in meta
    assert 'flip' not in meta and 'flow_fields' not in meta
    np.testing.assert_array_equal(meta['windows2'], r['windows2'])
    # Spring's 2x ground truth keeps its size
    r = pair(8, 12)
    r['gt_flow'] = np.zeros((16, 24, 2), np.float32)
    r['gt_flow_valid'] = np.ones((16, 24), bool)
    s = PackFlowInputs()(r)['data_samples']
    assert s.gt_flow.data.shape == (2, 16, 24)


def test_pack_output_feeds_the_flow_preprocessor():
    from winwin_mm.models.data_preprocessors import FlowDataPreProcessor
    packed = [PackFlowInputs()(pair(8, 12)), PackFlowInputs()(pair(10, 8))]
    data = dict(inputs=[p['inputs'] for p in packed],
                data_samples=[p['data_samples'] for p in packed])
    out = FlowDataPreProcessor(size_divisor=16)(data)
    assert out['inputs'].shape == (2, 6, 16, 16)
    s0, s1 = out['data_samples']
    # Only the inputs are padded; the padding is recorded for the model's
    # post-processing, and the ground truth keeps the frame's size.
    assert s0.padding_size == [0, 4, 0, 8] and s1.padding_size == [0, 8, 0, 6]
    assert s0.gt_flow.data.shape == (2, 8, 12)
    assert s0.gt_flow_valid.data.shape == (1, 8, 12)
    assert s1.gt_flow.data.shape == (2, 10, 8)


def test_full_training_pipeline_builds_and_runs():
    pipeline = [
        dict(type='FlowRandomScale', crop_size=(32, 48)),
        dict(type='FlowRandomCrop', crop_size=(32, 48)),
        dict(type='FlowRandomFlip'),
        dict(type='FlowColorJitter'),
        dict(type='FlowGuidedWindows', patch_size=8, num_windows=2,
             window_size=2, num_windows2=3, window_size2=2),
        dict(type='PackFlowInputs'),
    ]
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    set_random_seed(0)
    out = Compose(pipeline)(pair(40, 60))
    assert out['inputs'].shape == (6, 32, 48)
    meta = out['data_samples'].metainfo
    assert meta['windows'].shape == (2, 4) and meta['windows2'].shape == (3,
                                                                          4)


def test_pipeline_output_trains_and_evaluates_the_flow_model():
    """Windows of both frames reach the model; its predictions reach the
    metric (a tiny model, 64x96 pairs)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from mmseg.registry import METRICS, MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor'),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, out_indices=(1, )),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=32,
                     num_layers=3, num_heads=2, out_indices=(0, 1, 2)),
        decode_head=dict(type='WinDPTHead', in_channels=[32] * 4,
                         channels=16, layer_dims=(8, 16, 24, 32),
                         last_dim=8, num_classes=3, out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss'))))
    model.init_weights()
    train = Compose([
        dict(type='FlowRandomFlip'),
        dict(type='FlowGuidedWindows', num_windows=2, window_size=2,
             num_windows2=3, window_size2=2),
        dict(type='PackFlowInputs')])
    set_random_seed(0)
    batch = [train(pair(64, 96, flow=(16., 8.), seed=i)) for i in range(2)]
    data = dict(inputs=[b['inputs'] for b in batch],
                data_samples=[b['data_samples'] for b in batch])
    data = model.data_preprocessor(data, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['decode.loss_flow'])

    test = Compose([dict(type='PackFlowInputs')])
    batch = [test(pair(64, 96, seed=i)) for i in range(2)]
    data = model.data_preprocessor(
        dict(inputs=[b['inputs'] for b in batch],
             data_samples=[b['data_samples'] for b in batch]), False)
    model.eval()
    with torch.no_grad():
        outs = model.predict(data['inputs'], data['data_samples'])
    metric = METRICS.build(dict(type='FlowMetric'))
    metric.process({}, [o.to_dict() for o in outs])
    res = metric.evaluate(2)
    assert np.isfinite(res['EPE']) and res['EPE'] > 0


def test_shift_hue_rotates_the_colour_wheel_both_ways():
    from winwin_mm.datasets.transforms.flow_photometric import shift_hue
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 2] = 255  # BGR
    green = shift_hue(red, 1 / 3)
    assert green[0, 0, 1] > 200 and green[0, 0, 2] < 60
    blue = shift_hue(red, -1 / 3)  # negative shifts (mmcv fails on numpy 2)
    assert blue[0, 0, 0] > 200 and blue[0, 0, 2] < 60
    np.testing.assert_array_equal(shift_hue(red, 0.), red)
