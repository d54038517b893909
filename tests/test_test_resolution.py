"""tools/test_resolution.py (paper Figure 5) on tiny random-weight models."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import winwin_mm  # noqa: F401
from analysis_tools.test_resolution import (TestCenterCrop, parse_size,
                                            plot_study)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SUFFIX = '_vit-tiny_1xb8-200_scenes-320x176.py'


def test_center_crop_sets_the_crop_as_original():
    img = np.arange(6 * 8 * 3).reshape(6, 8, 3)
    seg = np.arange(6 * 8).reshape(6, 8)
    out = TestCenterCrop((2, 4)).transform(dict(
        img=img, gt_seg_map=seg, ori_shape=(6, 8), img_shape=(6, 8)))
    np.testing.assert_array_equal(out['img'], img[2:4, 2:6])
    np.testing.assert_array_equal(out['gt_seg_map'], seg[2:4, 2:6])
    assert out['ori_shape'] == out['img_shape'] == (2, 4)
    with pytest.raises(ValueError, match='larger than'):
        TestCenterCrop((8, 8)).transform(dict(img=img, ori_shape=(6, 8)))
    assert parse_size('112') == (112, 112)
    assert parse_size('48x96') == (48, 96)
    with pytest.raises(ValueError, match='HxW'):
        parse_size('12x')


def _data_options(tmp_path):
    """3 generated 48x96 test scenes, read in the main process."""
    loader = dict(num_workers=0, persistent_workers=False,
                  dataset=dict(data_root=str(tmp_path / 'scenes'),
                               num_images=3, img_size=(48, 96)))
    return {'test_dataloader': loader, 'val_dataloader': loader}


def _random_checkpoint(config, tmp_path, seed):
    cfg = Config.fromfile(config)
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path / f'model{seed}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.mark.slow
def test_study_json_and_figure(tmp_path):
    from test_resolution import main
    winwin = osp.join(ROOT, 'configs', 'ablations', 'winwin-2win5' + SUFFIX)
    crop = osp.join(ROOT, 'configs', 'ablations', 'crop7' + SUFFIX)
    ckpts = [_random_checkpoint(winwin, tmp_path, 0),
             _random_checkpoint(crop, tmp_path, 1)]
    out = tmp_path / 'study'
    args = ['--model', 'Win-Win', winwin, ckpts[0],
            '--model', 'crop', crop, ckpts[1], '32x32',
            '--sizes', '32', '48x96', '--out-dir', str(out),
            '--cfg-options']
    for key in ('test_dataloader', 'val_dataloader'):
        args += [f'{key}.num_workers=0', f'{key}.persistent_workers=False',
                 f'{key}.dataset.data_root={tmp_path / "scenes"}',
                 f'{key}.dataset.num_images=3',
                 f'{key}.dataset.img_size=(48,96)']
    main(args)
    study = json.loads((out / 'test_resolution.json').read_text())
    assert study['sizes'] == ['32x32', '48x96']
    labels = [m['label'] for m in study['models']]
    assert labels == ['Win-Win', 'crop']
    for entry in study['models']:
        assert set(entry['miou']) == {'32x32', '48x96'}
        assert all(0 <= v <= 100 for v in entry['miou'].values())
    # The reference line: the crop model at its own training size only.
    assert study['reference'] == {'32x32': study['models'][1]['miou']
                                  ['32x32']}
    # The whole-frame 'crop' scores as the plain test loop (no crop).
    cfg = Config.fromfile(winwin)
    cfg.merge_from_dict(_data_options(tmp_path))
    cfg.load_from, cfg.work_dir = ckpts[0], str(tmp_path / 'plain')
    plain = Runner.from_cfg(cfg).test()['mIoU']
    assert plain == pytest.approx(study['models'][0]['miou']['48x96'])
    drawn = plot_study(study, str(tmp_path / 'again.png'))
    assert drawn['Win-Win'] == ([32 * 32, 48 * 96],
                                [study['models'][0]['miou'][s]
                                 for s in ('32x32', '48x96')])
    assert drawn['trained at the test size'] == (
        [32 * 32], [study['reference']['32x32']])
    png = (out / 'test_resolution.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
