"""The checkpoint guarantees come from the configs, so mmsegmentation's own
tools (``mmseg/.mim/tools``, what ``mim train mmseg`` runs) get them too.

- every config inherits ``configs/_base_/default_runtime.py``:
  ``SafeCheckpointHook`` as ``default_hooks.checkpoint``, winwin_mm imported;
- its checkpoint contents survive a plain ``torch.load`` (safe loader, no
  allow-list) and the random states round-trip;
- mmseg's ``tools/train.py`` trains the demo config (shrunk through
  ``--cfg-options``), resumes it with ``--resume``, and mmseg's
  ``tools/test.py`` evaluates the checkpoint (both failed with torch's
  weights-only error on ``HistoryBuffer`` before).
"""
import glob
import os.path as osp
import random
import re
import subprocess
import sys

import mmseg
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub

from winwin_mm.utils.checkpoint import restore_history_buffers, to_safe_types
from winwin_mm.utils.rng_state import get_rng_states, set_rng_states

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MMSEG_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')
DEMO = osp.join(ROOT, 'configs', 'winwin',
                'winwin_vit-t16-rope_1xb8-500_synthetic-640x352.py')
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                      recursive=True)
                 if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_declares_the_runtime(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['winwin_mm'],
                                      allow_failed_imports=False)
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'


def test_message_hub_survives_the_safe_loader(tmp_path):
    hub = MessageHub.get_instance('test_safe_hub')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1), count=2)
    hub.update_info('dataset_meta', dict(palette=np.array([[1, 2, 3]])))
    hub.update_info('iter', np.int64(7))
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(message_hub=to_safe_types(hub.state_dict())), path)
    loaded = torch.load(path)  # weights_only=True, nothing allow-listed
    state = restore_history_buffers(loaded['message_hub'])
    buf = state['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    old = hub.get_scalar('train/loss')
    assert np.array_equal(buf.data[0], old.data[0])
    assert np.array_equal(buf.data[1], old.data[1])
    assert buf.mean() == pytest.approx(old.mean())
    assert state['runtime_info']['iter'] == 7
    restored = MessageHub.get_instance('test_safe_hub_restored')
    restored.load_state_dict(state)
    assert restored.get_scalar('train/loss').current() == pytest.approx(0.2)


def test_rng_states_round_trip(tmp_path):
    path = tmp_path / 'rng.pth'
    torch.save(dict(rng=get_rng_states()), path)
    expected = (random.random(), np.random.rand(3).tolist(),
                torch.rand(3).tolist())
    random.random(), np.random.rand(5), torch.rand(5)  # move on
    set_rng_states(torch.load(path)['rng'])
    assert (random.random(), np.random.rand(3).tolist(),
            torch.rand(3).tolist()) == expected


def _options(data_root, max_iters: int):
    """The demo config at 64x64 pixels (square: the same in (W, H) and
    (H, W)), 4 training images, a 2-block 32-dim ViT, 2 windows of 2x2
    tokens, drop-path on, in-process loading; a checkpoint every 2
    iterations."""
    options = []
    for split in ('train', 'val', 'test'):
        options += [f'{split}_dataloader.dataset.data_root={data_root}',
                    f'{split}_dataloader.dataset.img_size=(64,64)',
                    f'{split}_dataloader.num_workers=0',
                    f'{split}_dataloader.persistent_workers=False']
    return options + [
        'train_dataloader.dataset.num_images=4',
        'val_dataloader.dataset.num_images=2',
        'test_dataloader.dataset.num_images=2',
        'train_dataloader.batch_size=2',
        # RandomWindows is step 4 of the train pipeline.
        'train_dataloader.dataset.pipeline.4.window_size=2',
        'model.backbone.embed_dims=32', 'model.backbone.num_layers=2',
        'model.backbone.num_heads=2', 'model.backbone.out_indices=[1]',
        'model.backbone.drop_path_rate=0.1',
        'model.decode_head.in_channels=32', 'model.decode_head.channels=16',
        'model.decode_head.num_convs=1', 'custom_hooks=[]',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1']


def _mmseg_tool(tool: str, *args: str) -> str:
    """``python mmseg/.mim/tools/TOOL ARGS`` from the repository root (as
    ``mim`` runs it: winwin_mm is found through the config's
    custom_imports); returns stdout + stderr, asserting success."""
    proc = subprocess.run(
        [sys.executable, osp.join(MMSEG_TOOLS, tool), *args], cwd=ROOT,
        text=True, capture_output=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.slow
def test_mmseg_train_resume_test(tmp_path):
    data, work = tmp_path / 'data', tmp_path / 'work'
    _mmseg_tool('train.py', DEMO, '--work-dir', str(work), '--cfg-options',
                *_options(data, 2))
    assert (work / 'iter_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    assert not list(work.glob('*.tmp'))  # written through a rename

    log = _mmseg_tool('train.py', DEMO, '--work-dir', str(work), '--resume',
                      '--cfg-options', *_options(data, 4))
    assert 'resumed epoch: 0, iter: 2' in log, log[-3000:]
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    ckpt = torch.load(work / 'iter_4.pth')  # safe loader, no allow-list
    assert ckpt['meta']['iter'] == 4
    assert len(ckpt['rng_states']) == 1  # one process
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], dict)

    log = _mmseg_tool('test.py', DEMO, str(work / 'iter_4.pth'),
                      '--work-dir', str(tmp_path / 'test'),
                      '--cfg-options', *_options(data, 4))
    miou = re.search(r'Iter\(test\).*mIoU: ([\d.]+)', log)
    assert miou is not None, log[-3000:]
    assert 0.0 <= float(miou.group(1)) <= 100.0
