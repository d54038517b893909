"""Distributed data parallel on CPU (gloo) through mmengine.

- one DDP step of 2 processes x 2 samples updates the weights exactly as
  one single-process step on the same 4 samples with the same windows
  (segmentation and optical flow, through ``train_step`` as the runner
  calls it), and the ranks' mean loss is the 4-sample loss;
- ``tools/dist_train.sh CONFIG 2`` (torchrun) trains, saves a checkpoint
  and evaluates on a CPU-only machine.
"""
import os
import os.path as osp
import re
import socket
import statistics
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from ddp_helpers import TASKS, ddp_worker, train_step
from e2e_helpers import BDD_CONFIG, ROOT, tiny_bdd_options

import winwin_mm  # noqa: F401
from winwin_mm.datasets import generate_bdd100k_layout

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def ddp_results(tmp_path_factory):
    """Both tasks' DDP steps, in one spawn (process start-up dominates)."""
    out = tmp_path_factory.mktemp('ddp')
    mp.spawn(ddp_worker, args=(WORLD_SIZE, free_port(), str(out)),
             nprocs=WORLD_SIZE, join=True)
    return out


def _updates(model, before: dict, inputs, samples) -> dict:
    """Each parameter's change in one step."""
    train_step(model, inputs, samples)
    return {k: p.detach() - before[k] for k, p in model.named_parameters()}


def _differences(a: dict, b: dict) -> list:
    """Per parameter, ``|a - b| / |b|`` (parameters that ``b`` moved)."""
    return [float((a[k] - b[k]).norm() / b[k].norm()) for k in b
            if b[k].norm() > 0]


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(TASKS))
def test_ddp_step_equals_single_process_step(ddp_results, task):
    build, batch = TASKS[task]
    model = build()
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    inputs, samples = batch()
    single = _updates(model, before, inputs, samples)
    ddp = torch.load(ddp_results / f'{task}.pt', weights_only=True)['state']
    ranks = [torch.load(ddp_results / f'{task}_log{r}.pt', weights_only=True)
             for r in range(WORLD_SIZE)]

    # The loss of 4 samples is the mean of the ranks' losses on 2 each.
    assert ranks[0]['loss'] != pytest.approx(ranks[1]['loss'])
    single_loss = train_step(build(), inputs, samples)['loss'].item()
    assert sum(r['loss'] for r in ranks) / WORLD_SIZE == pytest.approx(
        single_loss, rel=1e-5)
    # Every parameter moved as in the single-process step (to float
    # precision), and every weight and buffer is the same.
    distributed = {k: ddp[k] - before[k] for k in before}
    assert max(_differences(distributed, single)) < 1e-4
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ddp[key], value, rtol=1e-4, atol=1e-6,
                                   msg=lambda m: f'{key}: {m}')
    # The comparison can fail: a step on rank 0's 2 samples alone moves the
    # parameters differently (typically by 10 %).
    alone = _updates(build(), before, inputs[:2], samples[:2])
    assert statistics.median(_differences(alone, single)) > 0.01


@pytest.fixture(scope='module')
def bdd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bdd100k_ddp')
    generate_bdd100k_layout(str(root), 'train', 4, (96, 128), 0)
    generate_bdd100k_layout(str(root), 'val', 2, (96, 128), 1)
    return root


@pytest.mark.slow
def test_dist_train_sh_on_cpu(bdd_root, tmp_path):
    """2 processes through tools/dist_train.sh: train 2 iterations, save
    one checkpoint, evaluate."""
    config = tmp_path / 'no_tuning.py'
    config.write_text(f'_base_ = [{BDD_CONFIG!r}]\ncustom_hooks = []\n')
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work), '--cfg-options',
         *tiny_bdd_options(bdd_root, 2),
         'default_hooks.checkpoint.interval=2'],
        cwd=ROOT, env=env, text=True, capture_output=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "'backend': 'gloo'" in log
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    miou = re.search(r'Iter\(val\).*mIoU: ([\d.]+)', log)
    assert miou is not None, log[-3000:]
