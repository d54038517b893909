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
    assert hasattr(model, 'decode_head')
