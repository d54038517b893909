"""tools/flow_window_study.py: it overrides the demo's FlowGuidedWindows,
reads the test metrics from a log and tabulates seeds as mean ± std."""
import argparse
import importlib.util
import os

import pytest
from e2e_helpers import ROOT
from mmengine.config import Config, DictAction


def _study():
    spec = importlib.util.spec_from_file_location(
        'flow_window_study', os.path.join(ROOT, 'tools',
                                          'flow_window_study.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_overridden_transform_is_the_demos_flow_guided_windows():
    study = _study()
    cfg = Config.fromfile(study.CONFIG)
    index = int(study.WINDOWS.rsplit('.', 1)[1])
    transform = cfg.train_dataloader.dataset.pipeline[index]
    assert transform['type'] == 'FlowGuidedWindows'
    for _, options, _ in study.SETTINGS.values():
        assert set(options) <= {'num_windows', 'window_size', 'num_windows2',
                                'window_size2', 'stochasticity', 'mode'}


def test_metrics_come_from_the_last_test_line():
    log = ('Iter(test) [18/18]    EPE: 9.5000  bad1: 99.0000  s0-10: 6.0\n'
           'other line\n'
           'Iter(test) [18/18]    EPE: 8.2500  bad1: 98.5000  bad3: 80.2500'
           '  s0-10: 6.1250  data_time: 0.0100\n')
    m = _study().metrics(log)
    assert m['EPE'] == 8.25 and m['bad3'] == 80.25 and m['s0-10'] == 6.125
    with pytest.raises(RuntimeError, match='no test metrics'):
        _study().metrics('Iter(train) [1/1] loss: 1.0')


def test_table_averages_seeds_per_setting():
    rows = [dict(setting='flow_guided', seed=0, EPE=8.0, bad1=98.0,
                 bad3=80.0),
            dict(setting='flow_guided', seed=1, EPE=9.0, bad1=99.0,
                 bad3=82.0),
            dict(setting='single', seed=0, EPE=10.5, bad1=99.5, bad3=90.0)]
    md = _study().table(rows, 600).splitlines()
    guided = [r for r in md if 'flow-guided' in r]
    single = [r for r in md if '8x9' in r]
    # mean ± sample std over the two seeds; one seed: the value alone
    assert '| 8.500 ± 0.707 |' in guided[0] and '| 0,1 |' in guided[0]
    assert '| 10.500 |' in single[0]
    assert not [r for r in md if 'same windows' in r]  # not run: no row
    assert '600 training iterations' in md[-1]


def test_img_size_reaches_every_loader_and_a_folder_of_its_own():
    study = _study()
    cfg = Config.fromfile(study.CONFIG)
    # parsed as tools/train.py and tools/test.py parse them
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', *study.size_options(512, 768)])
    cfg.merge_from_dict(args.cfg_options)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert list(ds.img_size) == [512, 768]
        assert ds.data_root == 'data/synthetic_flow_512x768'
    # The training options carry the setting's windows and the schedule.
    train = study.train_options('single', 3, 90)
    assert f'{study.WINDOWS}.num_windows=1' in train
    assert f'{study.WINDOWS}.window_size=[8, 9]' in train
    assert 'randomness.seed=3' in train and 'param_scheduler.0.end=6' in train


def test_table_covers_every_run_in_the_work_dir_and_counts_seed_wins(
        tmp_path):
    """Seeds run as parallel processes in one work dir: each process's
    table must include the others' finished runs (of the same length)."""
    import json
    study = _study()
    runs = [('same', 0, 8.4), ('same', 1, 8.1), ('single', 0, 7.9),
            ('single', 1, 8.2), ('flow_guided_6x6', 0, 7.8),
            ('single', 2, 6.0)]
    for name, seed, epe in runs:
        os.makedirs(tmp_path / f'{name}_seed{seed}')
        json.dump(dict(setting=name, seed=seed, iters=600, EPE=epe,
                       bad1=99.0, bad3=80.0),
                  open(tmp_path / f'{name}_seed{seed}' / 'result.json', 'w'))
    # another schedule in the same dir, and an unfinished run: left out
    os.makedirs(tmp_path / 'same_seed5')
    json.dump(dict(setting='same', seed=5, iters=1200, EPE=1.0, bad1=1.0,
                   bad3=1.0), open(tmp_path / 'same_seed5' / 'result.json',
                                   'w'))
    os.makedirs(tmp_path / 'single_seed9')
    results = study.collect(str(tmp_path), 600)
    assert [(r['setting'], r['seed']) for r in results] == [
        ('flow_guided_6x6', 0), ('same', 0), ('same', 1), ('single', 0),
        ('single', 1), ('single', 2)]
    wins = study.paired_wins(results)
    # only the seeds both settings ran are compared
    assert '- flow_guided_6x6 beats same in 1 of 1 seeds (0)' in wins
    assert '- flow_guided_6x6 beats single in 1 of 1 seeds (0)' in wins
    assert '- same beats single in 1 of 2 seeds (1)' in wins
    md = study.table(results, 600)
    single = [r for r in md.splitlines() if '8x9' in r][0]
    assert '| 7.900, 8.200, 6.000 |' in single and '| 0,1,2 |' in single
    lines = md.splitlines()
    assert lines[lines.index('Same seed, lower EPE:') + 4] == \
        '- same beats single in 1 of 2 seeds (1)'


def test_the_windows_are_found_in_any_configs_training_pipeline():
    """The large-motion config puts an upscale before the windows: the
    study must override the windows there, not the demo's index."""
    study = _study()
    assert study.windows_key(study.CONFIG) == study.WINDOWS
    large = os.path.join(
        ROOT, 'configs', 'winwin',
        'winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-2x-512x768.py')
    key = study.windows_key(large)
    cfg = Config.fromfile(large)
    index = int(key.rsplit('.', 1)[1])
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert index == 4 and pipeline[index]['type'] == 'FlowGuidedWindows'
    # the upscale comes before the windows, in training and at test
    assert pipeline[1]['type'] == 'FlowRandomScale'
    assert cfg.test_dataloader.dataset.pipeline[1]['type'] == \
        'FlowRandomScale'
    train = study.train_options('same', 0, 60, key)
    assert f'{key}.mode=\'same\'' in train
    # a config without the transform: a clear exit naming the key
    with pytest.raises(SystemExit, match='one FlowGuidedWindows, found 0'):
        study.windows_key(os.path.join(
            ROOT, 'configs', 'winwin',
            'cvc-pretrain_vit-t16-rope_1xb8-400_synthetic-flow-256x384.py'))
