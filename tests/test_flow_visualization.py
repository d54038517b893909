"""Flow pictures: the four panels' pixel content, the shared colour scale,
files written by the visualizer and by the hook (tools/test.py --show-dir)."""
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import HOOKS, VISUALIZERS
from mmseg.structures import SegDataSample
from winwin_mm.visualization import (FlowLocalVisualizer,
                                     FlowVisualizationHook, flow_to_rgb)

H, W = 6, 8


def flow_sample(img_path='seq/frame_0001.png'):
    """GT (5, 0) on the left half, 0 on the right, one unknown pixel;
    prediction = half the GT."""
    gt = torch.zeros(2, H, W)
    gt[0, :, :W // 2] = 5
    valid = torch.ones(1, H, W, dtype=torch.uint8)
    valid[0, 0, 0] = 0
    s = SegDataSample(metainfo=dict(img_path=img_path, ori_shape=(H, W)))
    s.gt_flow = PixelData(data=gt)
    s.gt_flow_valid = PixelData(data=valid)
    s.pred_flow = PixelData(data=gt * 0.5)
    return s


def frame():
    img = np.zeros((H, W, 3), np.uint8)
    img[...] = (10, 20, 30)
    return img


def test_flow_to_rgb_zero_is_white_and_scale_is_shared():
    assert (flow_to_rgb(np.zeros((2, 2, 2)), 0.) == 255).all()
    assert (flow_to_rgb(np.zeros((2, 2, 2)), 7.) == 255).all()
    full = flow_to_rgb(np.full((1, 1, 2), (5, 0)), 5.)
    half = flow_to_rgb(np.full((1, 1, 2), (2.5, 0)), 5.)
    assert (half >= full).all() and (half != full).any()  # paler
    # Beyond the scale: saturated like the scale itself
    np.testing.assert_array_equal(
        flow_to_rgb(np.full((1, 1, 2), (50, 0)), 5.), full)
    assert (flow_to_rgb(np.full((1, 1, 2), np.nan), 5.) == 0).all()
    # A longer vector elsewhere does not change the scale of the others
    mixed = flow_to_rgb(np.array([[[50, 0], [2.5, 0]]], np.float32), 5.)
    np.testing.assert_array_equal(mixed[0, 0], full[0, 0])
    np.testing.assert_array_equal(mixed[0, 1], half[0, 0])


def test_four_panels_pixel_content(tmp_path):
    vis = VISUALIZERS.build(dict(type='FlowLocalVisualizer',
                                 name='flow_vis_panels'))
    out_file = str(tmp_path / 'pair.png')
    vis.add_datasample('pair', frame(), flow_sample(), out_file=out_file)
    drawn = mmcv.imread(out_file, channel_order='rgb')
    assert drawn.shape == (H, 4 * W, 3)
    np.testing.assert_array_equal(vis.get_image(), drawn)
    img, gt, pred, err = (drawn[:, i * W:(i + 1) * W] for i in range(4))
    np.testing.assert_array_equal(img, frame())
    # GT: unknown pixel black, zero flow white, (5, 0) = full colour
    assert (gt[0, 0] == 0).all()
    assert (gt[:, W // 2:] == 255).all()
    full = flow_to_rgb(np.full((1, 1, 2), (5, 0)), 5.)[0, 0]
    np.testing.assert_array_equal(gt[1:, 0], np.tile(full, (H - 1, 1)))
    # Prediction (2.5, 0) on the GT's scale: paler, not the same colour
    half = flow_to_rgb(np.full((1, 1, 2), (2.5, 0)), 5.)[0, 0]
    np.testing.assert_array_equal(pred[:, 0], np.tile(half, (H, 1)))
    assert (pred[:, W // 2:] == 255).all()
    # EPE map: 2.5 (the max) on the left, 0 on the right, unknown black
    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[None],
                            cv2.COLORMAP_INFERNO)[0, :, ::-1]  # RGB
    np.testing.assert_array_equal(err[1, 0], lut[255])
    np.testing.assert_array_equal(err[1, -1], lut[0])
    assert (err[0, 0] == 0).all()


def test_spring_gt_and_no_gt():
    vis = FlowLocalVisualizer(name='flow_vis_spring')
    s = flow_sample()
    s.set_metainfo(dict(gt_flow_scale=2))  # as SpringDataset declares it
    s.gt_flow = PixelData(data=torch.zeros(2, 2 * H, 2 * W))
    s.gt_flow_valid = PixelData(data=torch.ones(1, 2 * H, 2 * W))
    drawn = vis.draw_flow_panels(frame(), s)
    assert drawn.shape == (H, 4 * W, 3)
    s = SegDataSample()
    s.pred_flow = PixelData(data=torch.zeros(2, H, W))
    drawn = vis.draw_flow_panels(frame(), s)
    assert drawn.shape == (H, 2 * W, 3)
    assert (drawn[:, W:] == 255).all()


def test_backend_and_hook_write_one_picture_per_pair(tmp_path):
    img_path = str(tmp_path / 'alley_1' / 'frame_0001.png')
    mmcv.imwrite(frame()[..., ::-1], img_path)  # BGR on disk
    save_dir = str(tmp_path / 'show')
    FlowLocalVisualizer.get_instance(
        'flow_vis_hook', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=save_dir)
    hook = HOOKS.build(dict(type='FlowVisualizationHook', draw=True,
                            interval=1))
    hook.after_test_iter(None, 0, {}, [flow_sample(img_path),
                                       flow_sample(img_path)])
    for step in (1, 2):
        path = osp.join(save_dir, 'vis_data', 'vis_image',
                        f'alley_1_frame_0001_{step}.png')
        drawn = mmcv.imread(path, channel_order='rgb')
        assert drawn.shape == (H, 4 * W, 3)
        np.testing.assert_array_equal(drawn[:, :W], frame())
    hook.draw = False
    hook.after_test_iter(None, 0, {}, [flow_sample(img_path)])
    assert not osp.exists(osp.join(save_dir, 'vis_data', 'vis_image',
                                   'alley_1_frame_0001_3.png'))


def test_hook_needs_a_flow_visualizer():
    Visualizer.get_instance('plain_vis_for_hook_test')
    with pytest.raises(TypeError, match='FlowLocalVisualizer'):
        FlowVisualizationHook(draw=True)


def test_runner_test_with_show_dir_and_out(tmp_path):
    """What ``tools/test.py CONFIG CKPT --show-dir DIR --out OUT`` does with
    a flow config: one 4-panel picture and one ``.flo`` per pair, and the
    metric in the returned results (tiny model, 32x48 pairs)."""
    import argparse
    import importlib.util

    from mmcv.transforms import BaseTransform
    from mmengine.config import Config
    from mmengine.dataset import BaseDataset
    from mmengine.runner import Runner

    from mmseg.registry import DATASETS, TRANSFORMS

    @DATASETS.register_module(name='_TinyFlowPairsForVisTest', force=True)
    class _Pairs(BaseDataset):
        def __init__(self, files, **kwargs):
            self.files = files
            super().__init__(**kwargs)

        def load_data_list(self):
            return [dict(img_path=f, img2_path=f, flow_path='')
                    for f in self.files]

    @TRANSFORMS.register_module(name='_LoadTinyPairForVisTest', force=True)
    class _Load(BaseTransform):
        def transform(self, results):
            img = mmcv.imread(results['img_path'])
            h, w = img.shape[:2]
            gt = np.zeros((h, w, 2), np.float32)
            gt[..., 0] = 2
            results.update(img=img, img2=np.roll(img, 2, axis=1), gt_flow=gt,
                           gt_flow_valid=np.ones((h, w), bool),
                           img_shape=(h, w), ori_shape=(h, w))
            return results

    files = []
    for seq in ('alley_1', 'temple_2'):
        path = str(tmp_path / 'data' / seq / 'frame_0001.png')
        mmcv.imwrite(np.random.RandomState(0).randint(
            0, 255, (32, 48, 3), np.uint8), path)
        files.append(path)
    cfg = Config(dict(
        default_scope='mmseg',
        work_dir=str(tmp_path / 'work'),
        model=dict(
            type='WinWinFlowEstimator',
            data_preprocessor=dict(type='FlowDataPreProcessor'),
            backbone=dict(type='RoPEVisionTransformer', arch=None,
                          embed_dims=32, num_layers=2, num_heads=2,
                          out_indices=(1, )),
            decoder=dict(type='RoPECrossDecoder', in_channels=32,
                         embed_dims=32, num_layers=3, num_heads=2,
                         out_indices=(0, 1, 2)),
            decode_head=dict(type='WinDPTHead', in_channels=[32] * 4,
                             channels=16, layer_dims=(8, 16, 24, 32),
                             last_dim=8, num_classes=3, out_channels=3,
                             loss_decode=dict(type='LaplacianFlowLoss'))),
        test_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='_TinyFlowPairsForVisTest', files=files,
                         pipeline=[dict(type='_LoadTinyPairForVisTest'),
                                   dict(type='PackFlowInputs')])),
        test_evaluator=dict(type='FlowMetric'),
        test_cfg=dict(type='TestLoop'),
        default_hooks=dict(visualization=dict(type='FlowVisualizationHook')),
        visualizer=dict(type='FlowLocalVisualizer')))
    spec = importlib.util.spec_from_file_location(
        '_winwin_test_tool', osp.join(osp.dirname(osp.dirname(
            osp.abspath(__file__))), 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    show_dir, out_dir = str(tmp_path / 'show'), str(tmp_path / 'out')
    tool.enable_visualization(cfg, argparse.Namespace(
        show=False, show_dir=show_dir, wait_time=0))
    cfg.test_evaluator['output_dir'] = out_dir  # as --out does
    cfg.test_evaluator['keep_results'] = True
    metrics = Runner.from_cfg(cfg).test()
    assert np.isfinite(metrics['EPE'])
    for i, seq in enumerate(('alley_1', 'temple_2')):
        pic = mmcv.imread(osp.join(show_dir, 'vis_data', 'vis_image',
                                   f'{seq}_frame_0001_{i + 1}.png'))
        assert pic.shape == (32, 4 * 48, 3)
        np.testing.assert_array_equal(pic[:, :48], mmcv.imread(files[i]))
        assert mmcv.flowread(osp.join(out_dir, seq, 'frame_0001.flo')).shape \
            == (32, 48, 2)
