"""End to end: tools/train.py -> --resume -> tools/test.py on a tiny
dataset in the real BDD100K layout, with the paper's BDD config shrunk
through --cfg-options (as a user would)."""
import os.path as osp
import re

import mmcv
import pytest
import torch
from e2e_helpers import BDD_CONFIG as CONFIG
from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run
from e2e_helpers import tiny_bdd_options as _options

from winwin_mm.datasets import generate_bdd100k_layout
from winwin_mm.utils.checkpoint import mmengine_safe_globals


@pytest.fixture(scope='module')
def bdd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bdd100k')
    generate_bdd100k_layout(str(root), 'train', 4, (160, 256), 0)
    generate_bdd100k_layout(str(root), 'val', 2, (160, 256), 1)
    return root


@pytest.mark.slow
def test_train_resume_test(bdd_root, tmp_path):
    work = tmp_path / 'work'
    train = osp.join(ROOT, 'tools', 'train.py')
    # 2 iterations, then resume from the saved checkpoint up to 4.
    _run(train, CONFIG, '--work-dir', str(work), '--cfg-options',
         *_options(bdd_root, 2))
    assert (work / 'iter_2.pth').exists() and not (work / 'iter_4.pth').exists()
    log = _run(train, CONFIG, '--work-dir', str(work), '--resume',
               '--cfg-options', *_options(bdd_root, 4))
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    ckpt_path = work / 'iter_4.pth'
    # The checkpoint loads with the safe loader (HistoryBuffer allowed).
    with mmengine_safe_globals():
        ckpt = torch.load(ckpt_path, weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert any(k.startswith('backbone.layers.1.attn')
               for k in ckpt['state_dict'])

    show = tmp_path / 'show'
    log = _run(osp.join(ROOT, 'tools', 'test.py'), CONFIG, str(ckpt_path),
               '--work-dir', str(tmp_path / 'test'), '--show-dir', str(show),
               '--cfg-options', *_options(bdd_root, 4))
    miou = re.search(r'Iter\(test\).*mIoU: ([\d.]+)', log)
    assert miou is not None, log[-2000:]
    assert 0.0 <= float(miou.group(1)) <= 100.0
    # Full resolution: the overlays have the size of the 256x160 images.
    overlays = sorted(show.rglob('*.png'))
    assert len(overlays) == 2
    assert mmcv.imread(str(overlays[0])).shape[:2] == (160, 256 * 2)
