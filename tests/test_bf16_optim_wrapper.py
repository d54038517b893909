"""BF16OptimWrapper: bf16 autocast training on the CPU, where mmengine's
AmpOptimWrapper refuses to start; `tools/train.py --amp` picks it."""
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401
from winwin_mm.utils.config import set_amp


def _wrapper(model, **kw):
    init_default_scope('mmseg')
    return build_optim_wrapper(model, dict(
        type='BF16OptimWrapper', optimizer=dict(type='SGD', lr=0.1), **kw))


def test_forward_runs_in_bf16_and_updates_fp32_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    wrapper = _wrapper(model)
    before = model[0].weight.detach().clone()
    x = torch.randn(4, 8)
    with wrapper.optim_context(model):
        out = model(x)
        loss = out.float().pow(2).mean()
    assert out.dtype == torch.bfloat16
    wrapper.backward(loss)
    grad = model[0].weight.grad.clone()
    assert grad.dtype == torch.float32 and grad.abs().max() > 0
    wrapper.step()
    assert model[0].weight.dtype == torch.float32
    # Plain SGD, no loss scaler in between: w <- w - lr * grad.
    torch.testing.assert_close(model[0].weight.detach(), before - 0.1 * grad)
    # Outside the context nothing is autocast.
    assert model(x).dtype == torch.float32


def test_bf16_gradient_matches_fp32_closely():
    torch.manual_seed(0)
    model = nn.Linear(32, 4)
    x, y = torch.randn(64, 32), torch.randn(64, 4)
    loss32 = (model(x) - y).pow(2).mean()
    g32, = torch.autograd.grad(loss32, model.weight)
    wrapper = _wrapper(model)
    with wrapper.optim_context(model):
        loss16 = (model(x).float() - y).pow(2).mean()
    g16, = torch.autograd.grad(loss16, model.weight)
    assert g16.dtype == torch.float32
    err = (g16 - g32).norm() / g32.norm()
    assert 0 < err < 0.05, err  # bf16 differs from fp32, but only a little


def test_set_amp_picks_bf16_without_cuda_and_keeps_a_chosen_wrapper():
    cpu = dict(type='OptimWrapper', optimizer=dict(type='AdamW'))
    set_amp(cpu, cuda=False)
    assert cpu['type'] == 'BF16OptimWrapper' and 'loss_scale' not in cpu
    gpu = dict(type='OptimWrapper', optimizer=dict(type='AdamW'))
    set_amp(gpu, cuda=True)
    assert gpu == dict(type='AmpOptimWrapper', loss_scale='dynamic',
                       optimizer=dict(type='AdamW'))
    chosen = dict(type='AmpOptimWrapper', dtype='bfloat16')
    set_amp(chosen, cuda=False)
    assert chosen == dict(type='AmpOptimWrapper', dtype='bfloat16')
