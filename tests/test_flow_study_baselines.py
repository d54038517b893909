"""tools/flow_window_study.py's Table 4 rows at demo scale: token budgets
and the crop baselines tested with resize / tiles on the single-window
checkpoint."""
import importlib.util
import json
import os

from e2e_helpers import ROOT


def _study():
    spec = importlib.util.spec_from_file_location(
        'flow_window_study', os.path.join(ROOT, 'tools',
                                          'flow_window_study.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tokens(n, size):
    h, w = (size, size) if isinstance(size, int) else size
    return n * h * w


def test_token_budgets_match_their_windows():
    study = _study()
    for name in ('tokens_50', 'tokens_98', 'tokens_128'):
        _, o, (t1, t2) = study.SETTINGS[name]
        assert _tokens(o['num_windows'], o['window_size']) == t1
        assert _tokens(o['num_windows2'], o['window_size2']) == t2
        assert o['mode'] == 'flow_guided'
        assert int(name.split('_')[1]) == t1


def test_crop_variants_test_the_single_window_checkpoint(tmp_path,
                                                         monkeypatch):
    study = _study()
    calls = []
    log = 'Iter(test) [18/18]    EPE: 7.5000  bad1: 90.0000  bad3: 50.0000\n'

    def fake_run(cmd, log_path):
        calls.append(cmd)
        if cmd[0] == 'tools/train.py':
            work = cmd[cmd.index('--work-dir') + 1]
            open(os.path.join(work, 'iter_10.pth'), 'w').close()
        return log
    monkeypatch.setattr(study, 'run', fake_run)
    monkeypatch.setattr(study, 'windows_key',
                        lambda config: study.WINDOWS)
    work = str(tmp_path)
    study.one_run('crop_resize', 0, 10, work)
    # The single-window setting was trained and tested, then its checkpoint
    # tested again with resized frames.
    assert [c[0] for c in calls] == ['tools/train.py', 'tools/test.py',
                                     'tools/test.py']
    ckpt = os.path.join(work, 'single_seed0', 'iter_10.pth')
    assert calls[2][2] == ckpt
    assert 'model.test_cfg.mode=resize' in calls[2]
    assert 'model.test_cfg.crop_size=[128,144]' in calls[2]
    calls.clear()
    study.one_run('crop_tile', 0, 10, work)  # single is done: test only
    assert [c[0] for c in calls] == ['tools/test.py']
    assert 'model.test_cfg.mode=tile' in calls[0]
    result = json.load(open(os.path.join(work, 'crop_tile_seed0',
                                         'result.json')))
    assert result['setting'] == 'crop_tile' and result['EPE'] == 7.5
    rows = study.collect(work, 10)
    assert [r['setting'] for r in rows] == ['single', 'crop_resize',
                                            'crop_tile']
    md = study.table(rows, 10)
    assert 'frames resized to 128x144 | 72/72 | 7.500' in md
