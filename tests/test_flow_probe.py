"""tools/analysis/flow_probe.py: its translation pairs are what they claim,
and both probes run on the flow demo config (shrunk)."""
import importlib.util
import os
import re

import numpy as np
from e2e_helpers import ROOT
from e2e_helpers import run_tool as _run

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


def test_both_probes_run_on_the_demo_config(tmp_path):
    tiny = [f'val_dataloader.dataset.data_root={tmp_path}',
            'val_dataloader.dataset.num_train_scenes=0',
            'val_dataloader.dataset.num_val_scenes=1',
            'val_dataloader.dataset.frames_per_scene=2',
            'val_dataloader.dataset.img_size=[64,96]',
            'train_dataloader.dataset.img_size=[64,96]',
            'model.decoder.displacement_readout=True']
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
