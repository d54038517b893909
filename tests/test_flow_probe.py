"""tools/analysis/flow_probe.py: its translation pairs are what they claim,
the token-matching reference is right on a hand-made pair, and the probes
run on the flow demo config (shrunk)."""
import pytest
import glob
import importlib.util
import json
import os
import re

import numpy as np
import torch
from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run

from winwin_mm.datasets import read_flow

DEMO = 'configs/winwin/winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py'


def _probe_module():
    spec = importlib.util.spec_from_file_location(
        'flow_probe', os.path.join(ROOT, 'tools', 'analysis', 'flow_probe.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_translation_pairs_move_every_pixel_by_the_flow():
    pairs = _probe_module().TranslationPairs((32, 48), max_shift=5,
                                             num_textures=2)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(6):
        p = pairs(rng)
        dx, dy = p['gt_flow'][0, 0].astype(int)
        assert (p['gt_flow'] == (dx, dy)).all() and max(abs(dx),
                                                        abs(dy)) <= 5
        # frame 1 at (y, x) is frame 2 at (y + dy, x + dx)
        y0, y1 = max(0, -dy), 32 - max(0, dy)
        x0, x1 = max(0, -dx), 48 - max(0, dx)
        np.testing.assert_array_equal(
            p['img'][y0:y1, x0:x1],
            p['img2'][y0 + dy:y1 + dy, x0 + dx:x1 + dx])
        seen.add((dx, dy))
    assert len(seen) > 1


@pytest.mark.slow
def test_the_probes_run_on_the_demo_config(tmp_path):
    tiny = [f'val_dataloader.dataset.data_root={tmp_path}',
            'val_dataloader.dataset.num_train_scenes=0',
            'val_dataloader.dataset.num_val_scenes=1',
            'val_dataloader.dataset.frames_per_scene=2',
            'val_dataloader.dataset.img_size=[64,96]',
            'train_dataloader.dataset.img_size=[64,96]']
    small_windows = ['train_dataloader.dataset.pipeline.3.window_size=2',
                     'train_dataloader.dataset.pipeline.3.window_size2=2',
                     'train_dataloader.dataset.pipeline.3.num_windows2=2']
    out = _run('tools/analysis/flow_probe.py', 'translation', DEMO,
               '--iters', '2', '--val-pairs', '1', '--windows',
               '--max-shift', '3', '--cfg-options', *tiny, *small_windows)
    found = re.search(r'translation probe: EPE ([0-9.]+) .* zero flow '
                      r'([0-9.]+)', out)
    assert found, out[-2000:]
    assert float(found.group(2)) > 0
    out = _run('tools/analysis/flow_probe.py', 'attention', DEMO,
               '--pairs', '1', '--cfg-options', *tiny)
    # 3 decoder blocks, 4 heads each, a correlation per head and axis
    rows = re.findall(r'block (\d): x \[([^\]]*)\] y \[([^\]]*)\]', out)
    assert [r[0] for r in rows] == ['0', '1', '2'], out[-2000:]
    assert all(len(r[1].split(',')) == 4 for r in rows)
    out = _run('tools/analysis/flow_probe.py', 'tokens', DEMO, '--pairs',
               '1', '--patch', '16', '8', '--radius', '1',
               '--cfg-options', *tiny)
    found = dict(re.findall(r'  (\S.*?)\s+([0-9.]+)\n', out))
    assert set(found) == {
        'zero flow', 'patch 16: ground truth averaged per token',
        'patch 16: readout on pixels, radius 1',
        'patch 8: ground truth averaged per token',
        'patch 8: readout on pixels, radius 1'}, out[-2000:]
    # Finer tokens resolve the ground truth better.
    assert (float(found['patch 8: ground truth averaged per token'])
            <= float(found['patch 16: ground truth averaged per token']))


def test_pixel_token_flow_finds_a_whole_token_shift():
    """Frame 2 = frame 1 moved by (dx, dy) = (8, -16) px on a noise image
    with 8-px tokens: every token whose content stays in frame 2 gets that
    flow; a constant ground truth averaged per token has EPE 0."""
    probe = _probe_module()
    g = torch.Generator().manual_seed(0)
    big = torch.rand(3, 64 + 32, 96 + 32, generator=g) * 255
    dx, dy = 8, -16
    f1 = big[:, 16:16 + 64, 16:16 + 96]
    f2 = big[:, 16 - dy:16 - dy + 64, 16 - dx:16 - dx + 96]  # p -> p + d
    flow = probe.pixel_token_flow(torch.cat([f1, f2]), 8, 2, 30.)
    assert flow.shape == (2, 8, 12)
    inside = flow[:, 2:, :-1]  # rows y + dy >= 0, cols x + dx < W
    torch.testing.assert_close(
        inside, torch.tensor([dx, dy], dtype=torch.float)[:, None, None]
        .expand_as(inside), atol=0.05, rtol=0)
    gt = torch.tensor([3., -5.])[:, None, None].expand(2, 64, 96)
    valid = torch.ones(64, 96, dtype=torch.bool)
    assert probe.token_epe(gt[:, ::8, ::8], gt, valid) < 1e-5
    assert abs(probe.token_epe(torch.zeros(2, 8, 12), gt, valid)
               - 34 ** 0.5) < 1e-4


@pytest.mark.slow
def test_zero_probe_scores_a_zero_prediction_with_the_flow_metric(tmp_path):
    out = _run('tools/analysis/flow_probe.py', 'zero', DEMO, '--cfg-options',
               f'val_dataloader.dataset.data_root={tmp_path}',
               'val_dataloader.dataset.num_train_scenes=0',
               'val_dataloader.dataset.num_val_scenes=2',
               'val_dataloader.dataset.frames_per_scene=2',
               'val_dataloader.dataset.img_size=[48,64]')
    result = json.loads(re.search(r'^zero flow metrics: (.*)$', out,
                                  re.M).group(1))
    # By hand: the EPE of zero flow is the mean flow length over the
    # (all valid) pixels of the two validation pairs.
    norms = np.concatenate([
        np.linalg.norm(read_flow(f)[0], axis=-1).ravel() for f in sorted(
            glob.glob(str(tmp_path / 'training/flow/temple_*/*.flo')))])
    assert norms.size == 2 * 48 * 64
    assert abs(result['EPE'] - norms.mean()) < 1e-3 * max(1, norms.mean())
    assert abs(result['bad3'] - 100 * (norms > 3).mean()) < 1e-3
