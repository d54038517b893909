"""End to end: TemperatureTuningHook in tools/train.py, the tuned value in
the last checkpoint and used by tools/test.py, tools/tune_temperature.py."""
import json
import os.path as osp
import re

import pytest
import torch

from e2e_helpers import BDD_CONFIG, ROOT, tiny_bdd_options
from e2e_helpers import run_tool as _run

from winwin_mm.datasets import generate_bdd100k_layout
from winwin_mm.engine.hooks.safe_checkpoint_hook import to_safe_types
from winwin_mm.utils.checkpoint import mmengine_safe_globals

CONFIG = BDD_CONFIG
# The grid leaves out 1.0, so a tuned checkpoint always differs from an
# untuned one.
HOOK = ("dict(type='TemperatureTuningHook', mode='search', num_images=4, "
        'grid=(1.1, 1.5, 0.1), progress=False)')


def _options(data_root):
    return tiny_bdd_options(data_root, max_iters=4)


def _load(path):
    with mmengine_safe_globals():  # as tools/test.py loads it
        return torch.load(path, map_location='cpu', weights_only=True)


def _temperatures(ckpt):
    return {k: v for k, v in ckpt['state_dict'].items()
            if k.endswith('temperature')}


def _metrics(out):
    found = re.findall(r'aAcc: [\d.]+\s+mIoU: [\d.]+\s+mAcc: [\d.]+', out)
    assert found, out[-3000:]
    return found[-1]


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """A 4-iteration training with the hook in custom_hooks."""
    root = tmp_path_factory.mktemp('bdd100k')
    generate_bdd100k_layout(str(root), 'train', 4, (160, 256), 0)
    generate_bdd100k_layout(str(root), 'val', 2, (160, 256), 1)
    config = root / 'with_hook.py'
    config.write_text(f'_base_ = [{CONFIG!r}]\ncustom_hooks = [{HOOK}]\n')
    work = root / 'work'
    log = _run(osp.join(ROOT, 'tools', 'train.py'), str(config),
               '--work-dir', str(work), '--cfg-options', *_options(root))
    return dict(root=root, work=work, log=log, config=str(config))


@pytest.mark.slow
def test_hook_tunes_before_last_checkpoint_and_final_val(run):
    work, log = run['work'], run['log']
    report = json.loads((work / 'temperature' / 'temperature.json')
                        .read_text())
    assert (work / 'temperature' / 'temperature.png').read_bytes()[:4] == \
        b'\x89PNG'
    best = report['best']
    assert best in (1.1, 1.2, 1.3, 1.4, 1.5)
    assert report['evaluations'] < report['grid_size'] == 5
    assert report['forward_passes'] == report['evaluations'] * 4
    # log(N_test)/log(N_train): 160 whole-image tokens vs 2 windows of 4x4.
    assert 1.0 < report['analytic'] < 2.0
    # Tuned after the last iteration, before its checkpoint and the val.
    tune = log.index('TemperatureTuningHook: tuning')
    assert log.index('Iter(train) [4/4]') < tune
    assert tune < log.index('Saving checkpoint at 4 iterations')
    assert tune < log.rindex('mIoU:')
    assert '<- best' in log and 'forward passes' in log
    last = _temperatures(_load(work / 'iter_4.pth'))
    assert len(last) == 2  # one (num_heads,) buffer per layer
    for t in last.values():
        torch.testing.assert_close(t, torch.full((2, ), best))
    for t in _temperatures(_load(work / 'iter_2.pth')).values():
        assert torch.equal(t, torch.ones(2))  # untouched before the end


@pytest.mark.slow
def test_test_py_uses_the_checkpoint_temperature(run, tmp_path):
    """Same weights, different temperature buffers -> different metrics.
    The attention weights are scaled up first: in a 4-iteration model they
    are so small that attention is nearly uniform at any temperature."""
    ckpt = _load(run['work'] / 'iter_4.pth')
    sd = ckpt['state_dict']
    for k in sd:
        if k.endswith(('attn.qkv.weight', 'attn.proj.weight')):
            sd[k] = sd[k] * 8
    ckpt['message_hub'] = to_safe_types(ckpt['message_hub'])
    tuned, zero = str(tmp_path / 'tuned.pth'), str(tmp_path / 'zero.pth')
    torch.save(ckpt, tuned)
    # --set: no tuning, every multiplier = 0 (uniform attention).
    _run(osp.join(ROOT, 'tools', 'tune_temperature.py'), CONFIG, tuned,
         '--out', zero, '--set', '0', '--work-dir', str(tmp_path),
         '--cfg-options', *_options(run['root']))
    for t in _temperatures(_load(zero)).values():
        assert torch.equal(t, torch.zeros(2))
    metrics = [
        _metrics(_run(osp.join(ROOT, 'tools', 'test.py'), CONFIG, path,
                      '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                      *_options(run['root'])))
        for path in (tuned, zero)]
    assert metrics[0] != metrics[1], metrics


@pytest.mark.slow
def test_tune_temperature_tool_writes_loadable_checkpoint(run, tmp_path):
    src = str(run['work'] / 'iter_4.pth')
    out = str(tmp_path / 'tuned.pth')
    log = _run(osp.join(ROOT, 'tools', 'tune_temperature.py'), CONFIG, src,
               '--out', out, '--mode', 'sweep', '--num-images', '2',
               '--grid', '0.6', '0.9', '0.1', '--work-dir', str(tmp_path),
               '--cfg-options', *_options(run['root']))
    report = json.loads((tmp_path / 'temperature' / 'temperature.json')
                        .read_text())
    assert report['evaluations'] == 4 and report['forward_passes'] == 8
    assert '<- best' in log
    assert (tmp_path / 'temperature' / 'temperature.png').exists()
    before, after = _load(src), _load(out)
    assert before.keys() == after.keys()
    assert before['state_dict'].keys() == after['state_dict'].keys()
    for k, v in before['state_dict'].items():
        if k.endswith('temperature'):
            torch.testing.assert_close(after['state_dict'][k],
                                       torch.full((2, ), report['best']))
        else:
            assert torch.equal(after['state_dict'][k], v), k
    assert after['meta']['temperature_tuning']['best'] == report['best']
    test = _run(osp.join(ROOT, 'tools', 'test.py'), CONFIG, out,
                '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                *_options(run['root']))
    _metrics(test)


@pytest.mark.slow
def test_tune_temperature_tool_needs_a_training_set(run, tmp_path):
    out = _run(osp.join(ROOT, 'tools', 'tune_temperature.py'), CONFIG,
               str(run['work'] / 'iter_4.pth'), '--out',
               str(tmp_path / 'x.pth'), '--work-dir', str(tmp_path),
               '--cfg-options', 'train_dataloader=None', ok=False)
    assert 'error: the config has no training set' in out
    assert 'Traceback' not in out
    assert not (tmp_path / 'x.pth').exists()
