"""tools/ablation.py: a two-setting micro study end to end (tiny model, two
iterations, six generated images), its table, and resuming."""
import functools
import importlib.util
import json
import os.path as osp

import mmengine.config.utils as config_utils
import pytest

from analysis_tools.ablation import SETTINGS, STUDIES, study_plan
from analysis_tools.ablation.runner import read_metrics, slide_passes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module', autouse=True)
def _fast_package_configs():
    """mmengine reads mmseg's 53 model-index YAML files for every
    ``mmseg::`` base (about 1 s); they do not change during the tests."""
    original = config_utils._get_cfg_metainfo
    config_utils._get_cfg_metainfo = functools.lru_cache()(original)
    yield
    config_utils._get_cfg_metainfo = original


def _tool():
    spec = importlib.util.spec_from_file_location(
        'ablation_tool', osp.join(ROOT, 'tools', 'ablation.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_options(data_root) -> list:
    opts = ['model.backbone.embed_dims=32', 'model.backbone.num_layers=1',
            'model.backbone.num_heads=2', 'model.backbone.out_indices=[0]',
            'model.decode_head.in_channels=32',
            'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2',
            'train_dataloader.dataset.num_images=4']
    for split in ('val', 'test'):
        opts.append(f'{split}_dataloader.dataset.num_images=2')
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts


def test_every_setting_has_its_configs():
    for setting in SETTINGS.values():
        assert osp.isfile(setting.path()), setting.path()
        for name in setting.test_configs.values():
            assert osp.isfile(setting.path(name))
    for study in STUDIES:
        assert all(n in SETTINGS for n, _ in study_plan(study))
    merged = dict(study_plan('all'))
    assert merged['winwin-2win5'] == ('whole', 'tuned')
    assert merged['crop7'] == ('whole', 'resize', 'slide')


def _config_tokens(path: str):
    """Training tokens and extra tokens per image, read from a config."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    h, w = cfg.train_dataloader.dataset.img_size
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'RandomWindows':
            extra = step.get('num_extra_tokens', 0)
            if 'num_tokens' in step:
                lo, hi = (step.num_tokens, ) * 2 if isinstance(
                    step.num_tokens, int) else step.num_tokens
                return (lo + hi) // 2, extra
            size = step.window_size
            wh, ww = (size, size) if isinstance(size, int) else size
            return step.num_windows * wh * ww, extra
        if step.type == 'RandomCrop':
            ch, cw = step.crop_size
            return (ch // 16) * (cw // 16), 0
    assert cfg.model.train_cfg.whole_image
    return (h // 16) * (w // 16), 0


# One setting of each kind (parsing a config takes about a second).
@pytest.mark.parametrize('name', [
    'winwin-4win3x4', 'winwin-2win5-extra5',
    'winwin-234win-tok38-62-ratio-aspect', 'crop6', 'fullres-vitdet',
    'randtokens-50-linear'])
def test_table_tokens_match_the_configs(name):
    setting = SETTINGS[name]
    assert _config_tokens(setting.path()) == (setting.tokens,
                                              setting.extra_tokens)


def test_forward_passes_and_log_parsing():
    slide = SETTINGS['crop7'].path('crop7-test-slide')
    # 112-px tiles, stride 56 on 320x176: 3 rows x 5 columns.
    assert slide_passes(slide) == 15
    # img_size is (H, W) = (176, 320): 112x160 tiles, stride 56x80, give
    # 3 rows x 3 columns (read as (W, H) it would be 5 x 2).
    assert slide_passes(slide, ['model.test_cfg.crop_size=[112,160]',
                                'model.test_cfg.stride=[56,80]']) == 9
    assert slide_passes(SETTINGS['crop7'].path()) == 1
    log = ('Iter(val) [40/40]    aAcc: 50.0000  mIoU: 20.5000  mAcc: 30.0\n'
           'Iter(test) [2/2]    aAcc: 51.0000  mIoU: 21.2500  mAcc: 31.0\n')
    assert read_metrics(log, 'test') == dict(aAcc=51.0, mIoU=21.25,
                                             mAcc=31.0)
    assert read_metrics(log, 'val')['mIoU'] == 20.5


@pytest.mark.slow
def test_micro_study_runs_writes_its_table_and_resumes(tmp_path, capsys):
    tool = _tool()
    work = tmp_path / 'study'
    argv = ['baselines', '--settings', 'fullres', 'randtokens-50-linear',
            '--seeds', '0', '--iters', '2', '--work-dir', str(work),
            '--cfg-options', *_tiny_options(tmp_path / 'scenes')]
    md, js, png = tool.main(argv)
    assert osp.getsize(png) > 0
    report = json.load(open(js))
    rows = {r['setting']: r for r in report['rows']}
    assert set(rows) == {'fullres', 'randtokens-50-linear'}
    for r in rows.values():
        assert r['eval'] == 'whole' and r['passes'] == 1
        assert 0 <= r['miou_mean'] <= 100 and r['train_seconds_mean'] > 0
        assert r['seeds'] == [0] and r['iters'] == 2
    assert rows['fullres']['tokens'] == 220
    assert rows['randtokens-50-linear']['tokens'] == 50
    table = open(md).read()
    assert '| Full-res. ViT | 220 | whole image, T = 1 | 1 |' in table
    assert 'Random tokens (linear head) | 50 |' in table

    # Resumable: a second run trains and evaluates nothing.
    capsys.readouterr()
    tool.main(argv)
    out = capsys.readouterr().out
    assert out.count('trained before, skipped') == 2
    assert 'training 2 iterations' not in out


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(SystemExit, match='not in study windows'):
        _tool().main(['windows', '--settings', 'fullres', '--work-dir',
                      str(tmp_path)])


@pytest.mark.slow
def test_posembed_and_linearhead_settings_change_what_they_say():
    """The cosine setting swaps RoPE for the absolute embedding only; the
    linear-head settings swap the head only."""
    from mmengine.config import Config
    base = Config.fromfile(SETTINGS['winwin-2win5'].path())
    cosine = Config.fromfile(SETTINGS['winwin-2win5-cosine'].path())
    assert base.model.backbone.get('pos_embed', 'rope') == 'rope'
    assert cosine.model.backbone.pos_embed == 'cosine'
    assert cosine.train_pipeline == base.train_pipeline
    for name, like in (('winwin-2win5-linear', 'winwin-2win5'),
                       ('fullres-linear', 'fullres')):
        cfg = Config.fromfile(SETTINGS[name].path())
        assert cfg.model.decode_head.type == 'TokenLinearHead'
        assert cfg.train_pipeline == Config.fromfile(
            SETTINGS[like].path()).train_pipeline
    assert [n for n, _ in STUDIES['posembed']] == ['winwin-2win5',
                                                   'winwin-2win5-cosine']
