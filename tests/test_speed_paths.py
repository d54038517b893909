"""The fast paths the benchmark relies on: unmasked SDPA for equal windows,
RoPE tables in the AMP dtype, torch.compile with windows of changing size."""
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from winwin_mm.models.backbones import RoPEVisionTransformer
from winwin_mm.models.layers import rope_2d_tables


def _model(**kwargs):
    torch.manual_seed(0)
    model = RoPEVisionTransformer(arch=None, embed_dims=32, num_layers=2,
                                  num_heads=2, patch_size=8, **kwargs)
    model.init_weights()
    return model.eval()


def _sdpa_masks(model, img, windows):
    masks = []
    sdpa = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        masks.append(kwargs.get('attn_mask'))
        return sdpa(*args, **kwargs)

    with mock.patch.object(F, 'scaled_dot_product_attention', spy):
        with torch.no_grad():
            model(img, windows)
    return masks


def test_equal_windows_and_vitdet_use_sdpa_without_mask():
    img = torch.randn(2, 3, 48, 64)
    equal = torch.tensor([[[0, 0, 16, 16], [32, 16, 48, 32]]] * 2)
    for model, windows in ((_model(), None), (_model(), equal),
                           (_model(window_attn_size=3), None)):
        masks = _sdpa_masks(model, img, windows)
        assert len(masks) == 2 and all(m is None for m in masks)
    # Images with different token counts need the padding mask.
    unequal = [torch.tensor([[0, 0, 16, 16]]), torch.tensor([[0, 0, 32, 16]])]
    masks = _sdpa_masks(_model(), img, unequal)
    assert all(m is not None for m in masks)


def test_rope_tables_follow_the_autocast_dtype():
    pos = torch.zeros(1, 4, 2, dtype=torch.long)
    cos, _ = rope_2d_tables(pos, 8, 100., torch.bfloat16)
    assert cos.dtype == torch.bfloat16
    model = _model()
    seen = []
    real = rope_2d_tables

    def spy(*args):
        out = real(*args)
        seen.append(out[0].dtype)
        return out

    target = 'winwin_mm.models.backbones.rope_vit.rope_2d_tables'
    with mock.patch(target, spy), torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(torch.randn(1, 3, 32, 32))[-1]
    assert seen == [torch.float32, torch.bfloat16]
    assert torch.isfinite(out).all()


@pytest.mark.slow
def test_compile_with_windows_of_changing_size():
    # Dynamo traces the model (graph breaks at the window bookkeeping);
    # windows of a new size recompile once, with dynamic shapes after that.
    model = _model()
    compiled = torch.compile(model, backend='eager', dynamic=True)
    img = torch.randn(1, 3, 48, 64)
    for boxes in ([[0, 0, 16, 16], [32, 16, 48, 32]],
                  [[0, 0, 24, 24], [32, 16, 56, 40]],
                  [[8, 8, 24, 24], [40, 0, 56, 16]]):
        windows = torch.tensor([boxes])
        with torch.no_grad():
            torch.testing.assert_close(compiled(img, windows)[-1],
                                       model(img, windows)[-1])
    with torch.no_grad():
        torch.testing.assert_close(compiled(img)[-1], model(img)[-1])


@pytest.mark.slow
def test_compiled_train_step_with_changing_windows():
    # What mmengine does for ``compile=True`` (torch.compile(model.train_step))
    # on a tiny Win-Win segmentor, windows changing size between steps.
    from mmengine.optim import build_optim_wrapper
    from analysis_tools.benchmark.models import build, seg_batch, seg_config
    model_cfg, optim_cfg = seg_config(quick=True)
    model_cfg.backbone.update(num_layers=2, out_indices=(1, ))
    model = build(model_cfg, 'cpu').train()
    wrapper = build_optim_wrapper(model, optim_cfg)
    step = torch.compile(model.train_step, backend='eager', dynamic=True)
    for boxes in ([[0, 0, 64, 64], [128, 0, 192, 64]],
                  [[0, 0, 96, 96], [128, 16, 224, 112]]):
        data = seg_batch((144, 256), 2, 19, boxes)
        losses = step(data, wrapper)
        assert torch.isfinite(losses['loss']), losses
