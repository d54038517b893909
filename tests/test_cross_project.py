"""winwin_mm backbones used from another OpenMMLab project (mmpretrain).

Each test writes a config file exactly as a user would (``custom_imports``
plus the ``mmseg.`` registry scope prefix), loads it with mmengine's
``Config.fromfile`` and builds an mmpretrain ``ImageClassifier`` through
mmpretrain's registry: the import must register the backbones and the
cross-scope lookup must find them.
"""
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

IWIN = dict(type='mmseg.IwinTransformer', arch=None, embed_dims=16,
            depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8], out_indices=[3])
ROPE_VIT = dict(type='mmseg.RoPEVisionTransformer', arch=None, embed_dims=32,
                num_layers=2, num_heads=2, patch_size=16, out_indices=[-1])


def _classifier_config(tmp_path, backbone: dict, channels: int) -> Config:
    path = tmp_path / 'classifier_config.py'
    path.write_text(textwrap.dedent(f"""\
        custom_imports = dict(imports=['winwin_mm'],
                              allow_failed_imports=False)
        default_scope = 'mmpretrain'
        model = dict(
            type='ImageClassifier',
            backbone={backbone!r},
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5,
                      in_channels={channels},
                      loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
        """))
    return Config.fromfile(str(path))


@pytest.mark.parametrize('backbone,channels', [(IWIN, 128), (ROPE_VIT, 32)],
                         ids=['iwin', 'rope_vit'])
def test_mmpretrain_image_classifier(tmp_path, backbone, channels):
    cfg = _classifier_config(tmp_path, backbone, channels)  # imports
    from mmseg.registry import MODELS as SEG_MODELS
    if SEG_MODELS.get(backbone['type'].split('.')[1]) is None:
        pytest.skip(f'{backbone["type"]} is not registered (yet)')
    # The scope a runner would set from the config, restored afterwards so
    # that other tests keep building from mmseg's registry.
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        _build_and_run(cfg, backbone, channels)


def _build_and_run(cfg: Config, backbone: dict, channels: int):
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert type(model).__name__ == 'ImageClassifier'
    assert type(model.backbone).__name__ == backbone['type'].split('.')[1]

    inputs = torch.randn(2, 3, 64, 96)
    feats = model.extract_feat(inputs)  # neck output: tuple of (B, C)
    assert feats[-1].shape == (2, channels)
    logits = model(inputs, mode='tensor')
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()

    samples = [DataSample().set_gt_label(1), DataSample().set_gt_label(3)]
    losses = model(inputs, samples, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss'])
    assert model.backbone.patch_embed.proj.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert [p.pred_score.shape for p in preds] == [(5, ), (5, )]
