"""ONNX export of the one-pass models: the graph takes sizes it never saw
(off the patch grid too) and matches PyTorch; the export module does what
the data preprocessor and the predict path do; the CLI runs end to end."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from winwin_mm.apis import init_model
from winwin_mm.deployment import OnePassExportModule, infer_task
from winwin_mm.deployment.onnx_export import (OnnxRuntimeModel, export_onnx,
                                              torch_reference)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = dict(
    seg='winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py',
    depth='winwin-depth_vit-t16-rope_1xb4-1200_synthetic-rooms-320x240.py',
    flow='winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py')
EXPORT_HW = (64, 96)  # a multiple of the patch size (16)
# Unseen at export: 5x7 tokens (odd grid, padded), and 4x7 padded again.
OTHER_HW = [(72, 104), (61, 97)]


def tiny_config(task: str) -> Config:
    """The demo config of ``task`` with a tiny model (32 dims, 2 blocks)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'winwin', CONFIGS[task]))
    m = cfg.model
    m.backbone.update(embed_dims=32, num_layers=2, num_heads=2,
                      out_indices=(1, ))
    if task == 'flow':
        m.decoder.update(in_channels=32, embed_dims=32, num_layers=3,
                         num_heads=2, out_indices=(0, 1, 2))
        m.decode_head.update(in_channels=[32] * 4, channels=16,
                             layer_dims=(8, 8, 16, 16), last_dim=8)
        m.matching.update(in_channels=32)
    else:
        m.decode_head.update(in_channels=32, channels=16)
    return cfg


def tiny_model(task: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return init_model(tiny_config(task))


def raw_inputs(task: str, H: int, W: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, (1, 3, H, W)).astype(np.float32)
            for _ in range(2 if task == 'flow' else 1)]


@pytest.mark.slow
@pytest.mark.parametrize('task', ['seg', 'depth', 'flow'])
def test_exported_graph_matches_pytorch_at_unseen_sizes(task, tmp_path):
    model = tiny_model(task)
    path = export_onnx(model, task, str(tmp_path / f'{task}.onnx'),
                       EXPORT_HW)
    ort = OnnxRuntimeModel(path)
    names = dict(seg=['logits'], depth=['depth'], flow=['flow', 'flow_conf'])
    assert ort.output_names == names[task]
    channels = dict(seg=[9], depth=[1], flow=[2, 1])[task]
    for H, W in OTHER_HW:
        arrays = raw_inputs(task, H, W)
        got, want = ort(*arrays), torch_reference(model, *arrays)
        for name, c, a, b in zip(ort.output_names, channels, got, want):
            assert a.shape == b.shape == (1, c, H, W), (name, a.shape)
            diff = float(np.abs(a - b).max())
            assert diff <= 1e-3, f'{task} {name} at {H}x{W}: {diff}'
            assert np.abs(b).max() > 1e-3  # not an all-zero comparison


@pytest.mark.parametrize(
    'task', ['seg', pytest.param('depth', marks=pytest.mark.slow),
             pytest.param('flow', marks=pytest.mark.slow)])
def test_export_module_equals_the_predict_path(task):
    """Normalisation and padding inside the module are the data
    preprocessor's; the crop is the post-processing's."""
    from mmseg.structures import SegDataSample
    model = tiny_model(task)
    H, W = 37, 50  # padded to 48 x 64
    arrays = raw_inputs(task, H, W)
    out = torch_reference(model, *arrays)
    pair = torch.from_numpy(np.concatenate(arrays, axis=1)[0])  # C, H, W
    sample = SegDataSample(metainfo=dict(ori_shape=(H, W), img_shape=(H, W)))
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[pair], data_samples=[sample]), False)
        pred = model.predict(data['inputs'], data['data_samples'])[0]
    if task == 'seg':
        want = [pred.seg_logits.data[None]]
    elif task == 'depth':
        want = [pred.pred_depth_map.data[None]]
    else:
        want = [pred.pred_flow.data[None], pred.pred_flow_conf.data[None]]
    for a, b in zip(out, want):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)


def test_task_is_checked():
    model = tiny_model('seg')
    assert infer_task(model) == 'seg'
    with pytest.raises(ValueError, match="'flow'"):
        OnePassExportModule(model, 'flow')
    with pytest.raises(TypeError, match='no ONNX export'):
        infer_task(torch.nn.Linear(2, 2))


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails
    with pytest.raises(ImportError, match=r'pip install -e "\.\[onnx\]"'):
        OnnxRuntimeModel('model.onnx')


@pytest.mark.slow
def test_cli_exports_and_verifies_a_saved_checkpoint(tmp_path, capsys):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
    try:
        import pytorch2onnx
    finally:
        sys.path.pop(0)
    cfg = tiny_config('depth')
    cfg_file = str(tmp_path / 'tiny_depth.py')
    cfg.dump(cfg_file)
    ckpt = str(tmp_path / 'tiny_depth.pth')
    torch.save(dict(state_dict=tiny_model('depth').state_dict(), meta={}),
               ckpt)
    out = str(tmp_path / 'out' / 'depth.onnx')
    code = pytorch2onnx.main([cfg_file, ckpt, '--out', out, '--shape', '48',
                              '64', '--verify'])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert osp.isfile(out)
    assert 'verify 55x77 depth (1, 1, 55, 77)' in printed
    assert 'verify: OK' in printed
