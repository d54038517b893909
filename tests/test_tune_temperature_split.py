"""tools/tune_temperature.py tunes where the config's TemperatureTuningHook
does: its named split by default, another split with --split, the training
set with --train-set."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run
from test_temperature_split import sintel_frames

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.engine.temperature import tuning_dataset
from winwin_mm.utils.checkpoint import mmengine_safe_globals
from winwin_mm.utils.data_guard import ensure_checked_datasets

SINTEL = osp.join(ROOT, 'configs', 'winwin', 'vitb_flow_sintel.py')


@pytest.fixture(scope='module')
def sintel_cfg():
    return Config.fromfile(SINTEL)


@pytest.mark.slow
def test_default_is_the_hooks_split(sintel_cfg):
    ds, what = tuning_dataset(sintel_cfg)
    assert (ds['type'], ds['split']) == ('SintelDataset', 'subtrain')
    assert tuple(ds['pass_style']) == ('clean', 'final')
    assert "split='subtrain'" in what


@pytest.mark.slow
def test_split_renames_the_hooks_split(sintel_cfg):
    ds, what = tuning_dataset(sintel_cfg, split='train')
    assert (ds['type'], ds['split']) == ('SintelDataset', 'train')
    hook = [h for h in sintel_cfg.custom_hooks
            if h.type == 'TemperatureTuningHook'][0]
    assert hook.dataset.split == 'subtrain'  # the config is not changed
    assert tuning_dataset(sintel_cfg, train_set=True)[0] is None
    with pytest.raises(ValueError, match='not both'):
        tuning_dataset(sintel_cfg, split='train', train_set=True)


def test_without_hook_dataset_split_applies_to_the_validation_set():
    cfg = Config(dict(
        custom_hooks=[dict(type='TemperatureTuningHook')],
        train_dataloader=dict(dataset=dict(type='ConcatDataset',
                                           datasets=[])),
        val_dataloader=dict(dataset=dict(
            type='SintelDataset', data_root='data/Sintel', split='subval',
            pass_style='clean', pipeline=[]))))
    assert tuning_dataset(cfg)[0] is None  # the hook's default: training
    ensure_checked_datasets(cfg)  # the tool wraps every loader's dataset
    ds, _ = tuning_dataset(cfg, split='subtrain')
    assert ds['type'].endswith('CheckedDataset')
    assert ds['dataset']['split'] == 'subtrain'
    cfg.val_dataloader.dataset = dict(type='BDD100KDataset',
                                      data_prefix=dict(img_path='x'))
    with pytest.raises(ValueError, match='no "split" setting'):
        tuning_dataset(cfg, split='train')


TINY_CONFIG = '''
custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
default_scope = 'mmseg'
P = 8
model = dict(
    type='WinWinFlowEstimator',
    data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=P),
    backbone=dict(type='RoPEVisionTransformer', arch=None, patch_size=P,
                  embed_dims=16, num_layers=1, num_heads=2,
                  out_indices=(0, )),
    decoder=dict(type='RoPECrossDecoder', in_channels=16, embed_dims=16,
                 num_layers=1, num_heads=2, out_indices=(0, )),
    decode_head=dict(type='TokenLinearHead', in_channels=16, in_index=-1,
                     upsample_factor=P, num_classes=3, out_channels=3,
                     loss_decode=dict(type='LaplacianFlowLoss')))
pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomCrop', crop_size=(16, 16)),
    dict(type='FlowGuidedWindows', patch_size=P, num_windows=2,
         window_size=1, num_windows2=2, window_size2=1, mode='random'),
    dict(type='PackFlowInputs'),
]
# The training set does not exist: only the hook's split may be read.
train_dataloader = dict(batch_size=1, num_workers=0, dataset=dict(
    type='SintelDataset', data_root='{root}/missing', split='train',
    pipeline=pipeline))
custom_hooks = [dict(
    type='TemperatureTuningHook', objective='decode.epe',
    dataset=dict(type='SintelDataset', data_root='{root}',
                 split='subtrain', val_scenes=('temple_2', ),
                 pipeline=pipeline))]
'''


def _tuned_meta(path):
    with mmengine_safe_globals():
        return torch.load(path, weights_only=True)['meta'][
            'temperature_tuning']


@pytest.mark.slow
def test_tool_tunes_on_the_hooks_split_then_on_another(tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    sintel_frames(tmp_path)  # alley_1 and temple_2, 2 pairs each
    config = tmp_path / 'tiny_flow.py'
    config.write_text(TINY_CONFIG.replace('{root}', str(tmp_path)))
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    tool = osp.join(ROOT, 'tools', 'tune_temperature.py')
    args = ['--mode', 'sweep', '--grid', '1.0', '1.2', '0.1',
            '--device', 'cpu', '--work-dir', str(tmp_path / 'work')]
    log = _run(tool, str(config), ckpt, '--out', str(tmp_path / 'a.pth'),
               *args)
    assert "split='subtrain'" in log and 'objective decode.epe' in log
    meta = _tuned_meta(tmp_path / 'a.pth')
    assert meta['num_images'] == 2  # alley_1 only (temple_2 is subval)
    assert "split='subtrain'" in meta['tuning_set']
    _run(tool, str(config), ckpt, '--out', str(tmp_path / 'b.pth'),
         '--split', 'train', *args)
    meta = _tuned_meta(tmp_path / 'b.pth')
    assert meta['num_images'] == 4 and "split='train'" in meta['tuning_set']
    # --train-set reads the (missing) training set: a clear error.
    log = _run(tool, str(config), ckpt, '--out', str(tmp_path / 'c.pth'),
               '--train-set', *args, ok=False)
    assert 'error: ' in log and 'Traceback' not in log
    assert 'missing' in log
