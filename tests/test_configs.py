"""Every config under configs/ loads and its model builds."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import winwin_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                      recursive=True)
                 if '_base_' not in p)


def test_configs_are_found():
    names = {osp.relpath(p, ROOT) for p in CONFIGS}
    assert 'configs/winwin/vitb_2win22_bdd.py' in names


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.get('custom_imports', {}).get('imports') == ['winwin_mm']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, f'{key} missing'
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    # Weights are never loaded here; building on the meta device keeps the
    # ViT-B / ViT-L configs cheap.
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    if cfg.model.type == 'CrossViewCompletion':  # pretraining: no head
        assert hasattr(model, 'prediction_head')
    else:
        assert hasattr(model, 'decode_head')


def test_bdd_config_applies_layer_decay():
    """mmpretrain's constructor reads WinWinEncoderDecoder.get_layer_depth:
    block i of the 12-block ViT-B gets lr * 0.75 ** (12 - i)."""
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'winwin',
                                   'vitb_2win22_bdd.py'))
    init_default_scope('mmseg')
    cfg.model.backbone.update(arch=None, embed_dims=32, num_heads=2,
                              init_cfg=None)
    cfg.model.decode_head.update(in_channels=32, channels=8, num_convs=1)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    wd = {g['param_name']: g['weight_decay']
          for g in wrapper.optimizer.param_groups}
    base = cfg.optim_wrapper.optimizer.lr
    assert lr['backbone.patch_embed.proj.weight'] == pytest.approx(
        base * 0.75 ** 13)
    assert lr['backbone.layers.11.attn.qkv.weight'] == pytest.approx(
        base * 0.75)
    assert lr['decode_head.conv_seg.weight'] == pytest.approx(base)
    assert wd['backbone.layers.0.norm1.weight'] == 0
    assert wd['backbone.layers.0.mlp.fc1.weight'] == pytest.approx(0.05)
