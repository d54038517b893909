"""A run killed with SIGKILL while writing a checkpoint resumes from the last
complete one and ends exactly where an uninterrupted run ends.

tools/train.py on the paper's BDD config shrunk to a tiny model (as the
other end-to-end tests), deterministic (seed 0, ``deterministic=True``),
with drop-path on: the random numbers it draws after a resume are those of
the uninterrupted run only because SafeCheckpointHook stores the generator
states in the checkpoint and restores them. 6 iterations, checkpoints every
2, per-iteration losses logged.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from e2e_helpers import BDD_CONFIG, ROOT, tiny_bdd_options

import winwin_mm  # noqa: F401
from winwin_mm.datasets import generate_bdd100k_layout
from winwin_mm.utils.strict_load import CheckpointFileError, read_checkpoint

HERE = osp.dirname(osp.abspath(__file__))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
ITERS = 6
DROP_PATH = 0.2  # stochastic depth: draws from torch's generator


@pytest.fixture(scope='module')
def bdd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bdd100k_faults')
    generate_bdd100k_layout(str(root), 'train', 4, (96, 128), 0)
    generate_bdd100k_layout(str(root), 'val', 1, (96, 128), 1)
    return root


def _config(tmp_path, hooks: str) -> str:
    path = tmp_path / f'cfg_{abs(hash(hooks))}.py'
    path.write_text(
        f'_base_ = [{BDD_CONFIG!r}]\n'
        "custom_imports = dict(imports=['winwin_mm', 'kill_helpers'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = {hooks}\n')
    return str(path)


def _train(config: str, work, bdd_root, *extra: str):
    options = tiny_bdd_options(bdd_root, ITERS) + [
        f'model.backbone.drop_path_rate={DROP_PATH}',
        'randomness.deterministic=True',
        'log_processor.window_size=1', f'train_cfg.val_interval={ITERS}']
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep
               + os.environ.get('PYTHONPATH', ''))
    return subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir', str(work), *extra,
         '--cfg-options', *options],
        cwd=ROOT, env=env, text=True, capture_output=True, timeout=600)


def _loss_curve(work) -> dict:
    """iteration -> logged losses, later runs (a resume) overriding."""
    curve = {}
    for path in sorted(work.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if 'loss' in row and 'iter' in row:
                curve[row['iter']] = (row['loss'], row['decode.loss_ce'])
    return curve


def _weights(path) -> dict:
    # The safe loader with no allow-list: SafeCheckpointHook's files hold
    # only tensors and plain containers.
    return torch.load(path, weights_only=True)['state_dict']


@pytest.mark.slow
def test_killed_while_saving_resumes_to_the_same_result(bdd_root, tmp_path):
    plain = tmp_path / 'plain'
    proc = _train(_config(tmp_path, '[]'), plain, bdd_root)
    assert proc.returncode == 0, proc.stderr[-4000:]

    work = tmp_path / 'killed'
    config = _config(tmp_path, "[dict(type='KillWhileSavingHook', at_iter=4)]")
    proc = _train(config, work, bdd_root)
    assert proc.returncode == -9, proc.stderr[-4000:]  # SIGKILL
    # Killed half-way through writing iteration 4's checkpoint: only the
    # temporary file is incomplete, and last_checkpoint names iteration 2.
    assert (work / 'iter_2.pth').exists()
    assert not (work / 'iter_4.pth').exists()
    partial = work / 'iter_4.pth.tmp'
    assert partial.exists()
    with pytest.raises(CheckpointFileError, match='iter_4.pth.tmp'):
        read_checkpoint(str(partial))
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    # A truncated checkpoint that last_checkpoint does not name is ignored.
    (work / 'iter_3.pth').write_bytes((work / 'iter_2.pth').read_bytes()[:999])

    proc = _train(_config(tmp_path, '[]'), work, bdd_root, '--resume')
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'resumed epoch: 0, iter: 2' in log
    assert not partial.exists()  # removed when training starts again

    expected = _weights(plain / f'iter_{ITERS}.pth')
    resumed = _weights(work / f'iter_{ITERS}.pth')
    assert expected.keys() == resumed.keys()
    different = [k for k in expected if not torch.equal(expected[k],
                                                        resumed[k])]
    assert different == []
    curve, expected_curve = _loss_curve(work), _loss_curve(plain)
    assert sorted(expected_curve) == list(range(1, ITERS + 1))
    assert curve == expected_curve
