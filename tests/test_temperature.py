"""Attention temperature tuning: the multiplier's exact effect, the
searches, the analytic guess, full-resolution data, loss measurement,
learned per-head temperatures and the hook (in process, tiny model)."""
import json
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.datasets import generate_bdd100k_layout
from winwin_mm.engine.temperature import (
    CachedFunction, FullResolutionLoss, NoTrainingSetError,
    analytic_from_data, analytic_temperature, brent_search,
    build_full_resolution_dataloader, full_resolution_pipeline,
    get_temperature, grid_sweep, grid_values, learn_temperatures,
    mean_train_tokens, tune_temperature, window_tokens)
from winwin_mm.models.layers import (RoPEAttention, apply_rope_2d,
                                     rope_2d_tables)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'winwin', 'vitb_2win22_bdd.py')
SIZE = (128, 160)  # height, width: 8 x 10 tokens of 16 px


# --------------------------------------------------------------- attention
@pytest.mark.parametrize('fused', [True, False])
def test_multiplier_is_softmax_logit_scale(fused):
    """out = proj(softmax(m_h * q k^T / sqrt(D)) v) per head h, by hand."""
    torch.manual_seed(0)
    B, N, C, H = 2, 12, 32, 4
    D = C // H
    attn = RoPEAttention(C, H, fused=fused).eval()
    m = torch.tensor([0.5, 1.0, 1.7, 3.0])
    attn.temperature.copy_(m)
    x = torch.randn(B, N, C)
    pos = torch.stack(torch.meshgrid(torch.arange(3), torch.arange(4),
                                     indexing='ij'), -1).reshape(1, N, 2)
    rope = rope_2d_tables(pos.expand(B, -1, -1), D)
    with torch.no_grad():
        out = attn(x, rope)
        q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).reshape(
            B, N, 3, H, D).permute(2, 0, 3, 1, 4)  # each B, H, N, D
        q, k = apply_rope_2d(q, *rope), apply_rope_2d(k, *rope)
        logits = m.view(1, H, 1, 1) * (q @ k.transpose(-2, -1)) / math.sqrt(D)
        ref = (logits.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)
        ref = attn.proj(ref)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_zero_multiplier_is_uniform_attention():
    torch.manual_seed(1)
    attn = RoPEAttention(16, 2).eval()
    attn.temperature.zero_()
    x = torch.randn(1, 6, 16)
    pos = torch.zeros(1, 6, 2, dtype=torch.long)
    with torch.no_grad():
        out = attn(x, rope_2d_tables(pos, 8))
        v = (x @ attn.qkv.weight.T + attn.qkv.bias)[..., 32:]  # B, N, C
        ref = attn.proj(v.mean(1, keepdim=True).expand(-1, 6, -1))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------ search
def test_grid_values_inclusive_without_drift():
    values = grid_values(0.8, 2.0, 0.02)
    assert len(values) == 61 and values[0] == 0.8 and values[-1] == 2.0
    assert 1.0 in values and 1.2 in values
    with pytest.raises(ValueError):
        grid_values(1.0, 0.5, 0.1)


def test_cached_function_counts_distinct_calls():
    calls = []
    f = CachedFunction(lambda x: calls.append(x) or x * x)
    assert f(0.3) == f(0.3000000001) == pytest.approx(0.09)
    f(0.5)
    assert f.num_evaluations == 2 == len(calls)
    assert [x for x, _ in f.curve()] == [0.3, 0.5]


def _bell(opt, width=0.3):
    """Upside-down bell: the loss curve shape of the paper's Figure 8."""
    return lambda x: 1 - math.exp(-(x - opt) ** 2 / width)


@pytest.mark.parametrize('opt', [0.83, 1.0, 1.19, 1.37, 1.66, 1.97])
@pytest.mark.parametrize('start', [None, 1.19, 0.9])
def test_search_finds_bell_minimum_with_fewer_evaluations(opt, start):
    values = grid_values(0.8, 2.0, 0.02)
    f = CachedFunction(_bell(opt))
    best, value = brent_search(f, values, start)
    assert abs(best - opt) <= 0.02 / 2 + 1e-9  # the nearest grid point
    assert best == grid_sweep(_bell(opt), values)[0]
    assert f.num_evaluations <= 12 < len(values)
    assert value == pytest.approx(_bell(opt)(best))


@pytest.mark.parametrize('opt', [0.5, 0.8, 2.0, 2.6])
def test_search_asymmetric_and_at_grid_edges(opt):
    # Convex, asymmetric; the minimum may lie outside the grid.
    def f(x):
        return math.exp(3 * (x - opt)) - 3 * (x - opt)

    values = grid_values(0.8, 2.0, 0.02)
    g = CachedFunction(f)
    best, _ = brent_search(g, values)
    assert best == grid_sweep(f, values)[0]
    assert g.num_evaluations < len(values) / 3


# ---------------------------------------------------------------- analytic
def _sample(windows=None):
    meta = {} if windows is None else dict(windows=np.array(windows))
    return SegDataSample(metainfo=meta)


def test_analytic_temperature_from_token_counts():
    # Paper setting: 2 windows of 22x22 tokens, test on 80x45 tokens.
    assert analytic_temperature(968, 3600) == pytest.approx(
        math.log(3600) / math.log(968))
    assert 1.18 < analytic_temperature(968, 3600) < 1.20
    assert analytic_temperature(500, 500) == pytest.approx(1.0)
    boxes = [[0, 0, 64, 32], [64, 32, 128, 96]]  # 4x2 + 4x4 tokens
    assert window_tokens(boxes, 16) == 24
    assert mean_train_tokens([_sample(boxes), _sample(boxes[:1])], 16) == 16
    assert mean_train_tokens([_sample()], 16) is None
    a = analytic_from_data([_sample(boxes)], (3, 720, 1280), 16)
    assert a == pytest.approx(math.log(80 * 45) / math.log(24))
    assert analytic_from_data([_sample()], (3, 720, 1280), 16) is None
    assert analytic_from_data([_sample(boxes)], (3, 720, 1280), None) is None


# -------------------------------------------------------------------- data
def test_full_resolution_pipeline_drops_windows_and_augmentations():
    cfg = Config.fromfile(CONFIG)
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in full_resolution_pipeline(pipeline)]
    assert types == ['LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs']
    kept = [t['type'] for t in full_resolution_pipeline(
        pipeline, drop=('RandomWindows', ))]
    assert 'RandomWindows' not in kept and 'RandomFlip' in kept
    assert [t['type'] for t in pipeline][4] == 'RandomWindows'  # untouched


def test_no_training_set_is_a_clear_error():
    for bad in (None, {}, dict(batch_size=2)):
        with pytest.raises(NoTrainingSetError, match='no training set'):
            build_full_resolution_dataloader(bad)


# ------------------------------------------------------- tiny trained model
def _tiny_cfg(root):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': root,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'model.backbone.init_cfg': None, 'model.backbone.arch': None,
        'model.backbone.embed_dims': 64, 'model.backbone.num_layers': 2,
        'model.backbone.num_heads': 2, 'model.backbone.out_indices': [1],
        'model.backbone.drop_path_rate': 0.0,
        'model.decode_head.in_channels': 64,
        'model.decode_head.channels': 32, 'model.decode_head.num_convs': 1,
        'train_dataloader.dataset.pipeline.4.window_size': 4})
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny Win-Win model trained 30 iterations on 2 windows of 4x4
    tokens of 10x8-token images. Its qkv weights start 8x larger than the
    default init so that attention is not uniform (with 0.02-std weights a
    tiny model barely depends on the temperature)."""
    root = str(tmp_path_factory.mktemp('bdd'))
    generate_bdd100k_layout(root, 'train', 4, SIZE, seed=0)
    cfg = _tiny_cfg(root)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    np.random.seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('attn.qkv.weight'):
                p.mul_(8)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=3e-3))
    batches = iter(Runner.build_dataloader(cfg.train_dataloader))
    model.train()
    for _ in range(30):
        model.train_step(next(batches), optim)
    return model, cfg


@pytest.fixture
def loader(trained):
    _, cfg = trained
    init_default_scope('mmseg')
    return build_full_resolution_dataloader(cfg.train_dataloader, 3, 2)


@pytest.mark.slow
def test_full_resolution_loader_whole_training_images(loader):
    assert len(loader.dataset) == 3
    assert list(loader.dataset.indices) == [0, 2, 3]  # spread evenly
    batches = [b for b in loader]
    for batch in batches:
        for img, ds in zip(batch['inputs'], batch['data_samples']):
            assert tuple(img.shape) == (3, *SIZE)
            assert 'windows' not in ds.metainfo
            assert not ds.metainfo.get('flip', False)
    again = [b['inputs'][0] for b in loader]
    assert all(torch.equal(a, b['inputs'][0]) for a, b in zip(again, batches))


def test_full_resolution_loss_depends_on_multiplier(trained, loader):
    model, _ = trained
    model.train()
    loss = FullResolutionLoss(model, loader, progress=False)
    a, b = loss(1.0), loss(2.0)
    assert math.isfinite(a) and a != b
    assert loss(1.0) == pytest.approx(a, abs=1e-6)  # deterministic data
    assert loss.forward_passes == 9  # 3 evaluations x 3 images
    assert torch.equal(get_temperature(model), torch.full((2, 2), 1.0))
    assert model.training  # mode restored


def test_tune_sweep_and_search(trained, loader):
    model, _ = trained
    grid = (0.5, 2.5, 0.25)
    sweep = tune_temperature(model, loader, 'sweep', grid, analytic=1.3,
                             progress=False)
    curve = dict((m, loss) for m, loss in sweep['curve'])
    assert len(curve) == sweep['grid_size'] == 9
    assert sweep['best'] == min(curve, key=curve.get)
    assert sweep['forward_passes'] == 9 * 3 == sweep['grid_forward_passes']
    assert torch.equal(get_temperature(model),
                       torch.full((2, 2), sweep['best']))
    assert sweep['analytic_distance'] == pytest.approx(
        abs(1.3 - sweep['best']))
    search = tune_temperature(model, loader, 'search', grid, analytic=1.3,
                              progress=False)
    assert search['forward_passes'] < sweep['forward_passes']
    for m, loss in search['curve']:  # the same objective as the sweep
        assert loss == pytest.approx(curve[m], abs=1e-6)
    json.dumps(search)  # JSON-ready


def test_learned_temperatures_lower_full_resolution_loss(trained, loader):
    model, _ = trained
    weights = {k: v.clone() for k, v in model.state_dict().items()
               if not k.endswith('temperature')}
    loss = FullResolutionLoss(model, loader, progress=False)
    start = loss(1.0)
    out = learn_temperatures(model, loader, num_iters=25, lr=0.05, init=1.0,
                             progress=False)
    learned = out['temperature']
    assert learned.shape == (2, 2) and (learned > 0).all()
    assert not torch.allclose(learned, torch.ones(2, 2))
    assert len(set(learned.flatten().tolist())) == 4  # one per head
    assert torch.equal(get_temperature(model), learned)
    assert loss(learned) < start
    assert out['forward_backward_passes'] == 13 * 2 + 12 * 1  # batches 2, 1
    for k, v in model.state_dict().items():  # weights frozen
        if k in weights:
            assert torch.equal(v, weights[k]), k
    assert all(p.requires_grad for p in model.parameters())


def test_tune_learned_keeps_only_improvements(trained, loader):
    model, _ = trained
    report = tune_temperature(model, loader, 'learned', (0.5, 2.5, 0.25),
                              learn_iters=10, learn_lr=0.05, progress=False)
    learned = report['learned']
    assert learned['kept'] == (learned['loss'] < learned['start_loss'])
    assert learned['start_loss'] == pytest.approx(report['best_loss'])
    expected = (learned['temperature'] if learned['kept'] else
                [[report['best']] * 2] * 2)
    torch.testing.assert_close(get_temperature(model),
                               torch.tensor(expected))


# -------------------------------------------------------------------- hook
def test_hook_priority_runs_before_checkpoint_hook():
    from mmengine.hooks import CheckpointHook
    from mmengine.runner.priority import get_priority
    hook = HOOKS.build(dict(type='TemperatureTuningHook'))
    assert isinstance(hook, Hook)
    assert get_priority(hook.priority) < get_priority(CheckpointHook.priority)


def test_hook_tunes_once_at_the_last_iteration(trained, tmp_path):
    model, cfg = trained
    init_default_scope('mmseg')
    model.set_temperature(1.0)
    hook = HOOKS.build(dict(type='TemperatureTuningHook', mode='sweep',
                            num_images=2, grid=(1.5, 2.0, 0.5),
                            progress=False))
    runner = SimpleNamespace(
        model=model, cfg=cfg, work_dir=str(tmp_path), iter=0, max_iters=2,
        train_loop=SimpleNamespace(max_iters=2),
        logger=MMLogger.get_current_instance())
    batch = dict(data_samples=[_sample([[0, 0, 64, 64], [64, 64, 128, 128]])])
    hook.after_train_iter(runner, 0, batch)
    assert not (tmp_path / 'temperature').exists()
    assert torch.equal(get_temperature(model), torch.ones(2, 2))
    runner.iter = 1
    hook.after_train_iter(runner, 1, batch)
    report = json.loads((tmp_path / 'temperature' /
                         'temperature.json').read_text())
    assert report['best'] in (1.5, 2.0) and report['evaluations'] == 2
    assert report['analytic'] == pytest.approx(math.log(80) / math.log(32))
    assert (tmp_path / 'temperature' / 'temperature.png').stat().st_size > 0
    assert torch.equal(get_temperature(model),
                       torch.full((2, 2), report['best']))
