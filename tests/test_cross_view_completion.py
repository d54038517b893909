"""CroCo's cross-view completion pretraining (the flow demo's step 1)."""
import os.path as osp
import re

import pytest
import torch
from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from winwin_mm.datasets import generate_sintel_layout
from winwin_mm.models.pretrainers.cross_view_completion import (patchify,
                                                                 unpatchify)

register_all_modules()
P = 16


def tiny_cvc(mask_ratio=0.75):
    model = MODELS.build(dict(
        type='CrossViewCompletion',
        data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=P),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, out_indices=(1, ),
                      init_cfg=None),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=24,
                     num_layers=2, num_heads=2, out_indices=(0, 1)),
        mask_ratio=mask_ratio))
    model.init_weights()
    return model.eval()


def test_patchify_roundtrip_and_layout():
    x = torch.randn(2, 3, 2 * P, 3 * P)
    t = patchify(x, P)  # 2, 6, P*P*3
    assert t.shape == (2, 6, P * P * 3)
    # token 4 = row 1, col 1; its first value is pixel (P, P) channel 0
    assert t[1, 4, 0] == x[1, 0, P, P] and t[1, 4, 1] == x[1, 1, P, P]
    assert torch.equal(unpatchify(t, 2, 3, P), x)


def test_only_visible_tokens_of_frame1_are_seen():
    """Changing a hidden patch of frame 1 leaves the prediction unchanged
    (the encoder never sees it); changing a visible patch or frame 2 does."""
    torch.manual_seed(0)
    model = tiny_cvc()
    x = torch.randn(1, 6, 2 * P, 4 * P)  # 2x4 = 8 tokens, 2 visible
    visible = torch.tensor([[1, 6]])
    with torch.no_grad():
        ref, hidden = model.reconstruct(x, visible)
        assert hidden.tolist() == [[True, False, True, True, True, True,
                                    False, True]]

        def changed(c, r, col):
            y = x.clone()
            y[:, c:c + 3, r * P:(r + 1) * P, col * P:(col + 1) * P] += 3.
            return not torch.allclose(model.reconstruct(y, visible)[0], ref)

        assert not changed(0, 0, 0)  # token 0: hidden
        assert not changed(0, 1, 3)  # token 7: hidden
        assert changed(0, 0, 1)  # token 1: visible
        assert changed(0, 1, 2)  # token 6: visible
        assert changed(3, 0, 0)  # frame 2 is seen whole


def test_loss_counts_hidden_patches_only():
    torch.manual_seed(0)
    model = tiny_cvc(mask_ratio=0.5)
    x = torch.randn(2, 6, 2 * P, 2 * P)
    torch.manual_seed(1)
    loss = model(x, mode='loss')['loss_cvc']
    torch.manual_seed(1)
    pred, hidden = model.reconstruct(x)
    assert hidden.sum(1).tolist() == [2, 2]
    err = (pred - model.target(x[:, :3])).pow(2).mean(-1)
    assert torch.allclose(loss, err[hidden].mean())
    assert not torch.allclose(loss, err.mean())


def test_bad_mask_ratio_and_parts_are_refused():
    with pytest.raises(ValueError, match='mask_ratio'):
        MODELS.build(dict(type='CrossViewCompletion', backbone=dict(
            type='RoPEVisionTransformer', arch=None, embed_dims=32,
            num_layers=2, num_heads=2, out_indices=(1, )), decoder=dict(
            type='RoPECrossDecoder', in_channels=32, embed_dims=24,
            num_layers=1, num_heads=2), mask_ratio=1.0))
    with pytest.raises(ValueError, match='decoder.in_channels'):
        MODELS.build(dict(type='CrossViewCompletion', backbone=dict(
            type='RoPEVisionTransformer', arch=None, embed_dims=32,
            num_layers=2, num_heads=2, out_indices=(1, )), decoder=dict(
            type='RoPECrossDecoder', in_channels=48, embed_dims=24,
            num_layers=1, num_heads=2)))


@pytest.mark.slow
def test_pretrain_then_flow_model_starts_from_it(tmp_path):
    """tools/train.py on the pretraining config (shrunk), then the flow
    model of the fine-tuning config initialises its encoder and decoder
    from that checkpoint."""
    data = tmp_path / 'flow'
    generate_sintel_layout(str(data), num_train_scenes=1, num_val_scenes=2,
                           frames_per_scene=3, size=(64, 96), seed=0)
    pre = osp.join(ROOT, 'configs', 'winwin', 'cvc-pretrain_vit-t16-rope_'
                   '1xb8-400_synthetic-flow-256x384.py')
    work = tmp_path / 'cvc'
    ds = 'train_dataloader.dataset'
    log = _run(osp.join(ROOT, 'tools', 'train.py'), pre, '--work-dir',
               str(work), '--cfg-options', f'{ds}.data_root={data}',
               f'{ds}.num_train_scenes=1', f'{ds}.frames_per_scene=3',
               f'{ds}.img_size=[64,96]', f'{ds}.pipeline.1.crop_size=[64,64]',
               'train_dataloader.batch_size=2',
               'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               'train_cfg.max_iters=3', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=3')
    losses = [float(v) for v in re.findall(r'loss_cvc: ([\d.]+)', log)]
    assert len(losses) == 3, log[-3000:]
    ckpt = work / 'iter_3.pth'
    assert ckpt.exists()

    # The fine-tuning config: the demo's model as pretrained (plain 16x16
    # patches; the demo itself embeds 64x64 pixels per token).
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'winwin',
        'winwin-flow-cvc_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py'))
    # As documented in docs/flow.md: the parts' init_cfg read the file.
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt),
                                       prefix='backbone.')
    cfg.model.decoder.init_cfg = dict(type='Pretrained', checkpoint=str(ckpt))
    flow = MODELS.build(cfg.model)
    from winwin_mm.utils.checkpoint import mmengine_safe_globals
    with mmengine_safe_globals():
        flow.init_weights()
        state = torch.load(ckpt, map_location='cpu')['state_dict']
    for name, value in flow.state_dict().items():
        if name.startswith(('backbone.', 'decoder.')):
            assert torch.equal(value, state[name]), name


def test_xavier_init_cfg_is_applied_on_top_of_the_default():
    """CroCo's from-scratch init (Xavier-uniform linears) through init_cfg;
    without it the parts keep their truncated-normal(0.02) default."""
    xavier = dict(type='Xavier', layer='Linear', distribution='uniform')
    for init_cfg, expect in ((None, 0.02), (xavier, (2 / (64 + 192)) ** .5)):
        torch.manual_seed(0)
        bb = MODELS.build(dict(type='RoPEVisionTransformer', arch=None,
                               embed_dims=64, num_layers=1, num_heads=2,
                               init_cfg=init_cfg))
        dec = MODELS.build(dict(type='RoPECrossDecoder', in_channels=64,
                                embed_dims=64, num_layers=1, num_heads=2,
                                init_cfg=init_cfg))
        bb.init_weights()
        dec.init_weights()
        # fc1: 64 -> 256 inputs/outputs; qkv: 64 -> 192
        assert abs(bb.layers[0].attn.qkv.weight.std().item() - expect) < (
            0.1 * expect)
        fc1 = dec.blocks[0].mlp.fc1.weight
        want = 0.02 if init_cfg is None else (2 / (64 + 256)) ** .5
        assert abs(fc1.std().item() - want) < 0.1 * want
