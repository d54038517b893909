"""tools/test_resolution.py --crops grid (paper Figure 5's protocol): every
test image tiled with crops of the size, each crop one test sample."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import winwin_mm  # noqa: F401
from analysis_tools.test_resolution import (GridCropDataset, TestBoxCrop,
                                            crop_dataset, grid_boxes,
                                            grid_offsets)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
WINWIN = osp.join(ROOT, 'configs', 'ablations',
                  'winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py')


def test_grid_offsets_cover_the_side_and_end_at_the_border():
    assert grid_offsets(96, 32) == [0, 32, 64]  # exact tiling
    assert grid_offsets(48, 32) == [0, 16]  # last crop at the border
    assert grid_offsets(32, 32) == [0]
    with pytest.raises(ValueError, match='larger than'):
        grid_offsets(16, 32)
    boxes = grid_boxes((48, 100), (32, 32))
    assert len(boxes) == 2 * 4
    covered = np.zeros((48, 100), int)
    for y, x, h, w in boxes:
        assert (h, w) == (32, 32) and y + h <= 48 and x + w <= 100
        covered[y:y + h, x:x + w] += 1
    assert covered.min() >= 1  # every pixel is evaluated


def test_box_crop_is_the_original_image():
    img = np.arange(6 * 8 * 3).reshape(6, 8, 3)
    seg = np.arange(6 * 8).reshape(6, 8)
    out = TestBoxCrop().transform(dict(img=img, gt_seg_map=seg,
                                       crop_box=(2, 4, 4, 4)))
    np.testing.assert_array_equal(out['img'], img[2:6, 4:8])
    np.testing.assert_array_equal(out['gt_seg_map'], seg[2:6, 4:8])
    assert out['ori_shape'] == out['img_shape'] == (4, 4)
    with pytest.raises(ValueError, match='leaves'):
        TestBoxCrop().transform(dict(img=img, crop_box=(4, 0, 4, 4)))
    with pytest.raises(KeyError, match='GridCropDataset'):
        TestBoxCrop().transform(dict(img=img))


def _test_dataset(tmp_path):
    cfg = Config.fromfile(WINWIN)
    ds = cfg.test_dataloader.dataset.to_dict()
    ds.update(data_root=str(tmp_path / 'scenes'), num_images=2,
              img_size=(48, 96))
    return ds


@pytest.mark.slow
def test_grid_dataset_yields_every_crop_with_its_labels(tmp_path):
    init_default_scope('mmseg')
    plain = _test_dataset(tmp_path)
    grid = DATASETS.build(crop_dataset(plain, (32, 32), 'grid'))
    assert isinstance(grid, GridCropDataset)
    assert grid.image_size == (48, 96)
    assert len(grid) == 2 * 6  # 2 rows x 3 columns per image
    whole = DATASETS.build(plain)
    assert grid.metainfo['classes'] == whole.metainfo['classes']
    for i in (0, 5, 7):
        image, k = divmod(i, 6)
        y, x, h, w = grid.boxes[k]
        item, ref = grid[i], whole[image]
        np.testing.assert_array_equal(
            item['inputs'].numpy(), ref['inputs'][:, y:y + h, x:x + w])
        np.testing.assert_array_equal(
            item['data_samples'].gt_sem_seg.data.numpy(),
            ref['data_samples'].gt_sem_seg.data[:, y:y + h, x:x + w])
        assert item['data_samples'].ori_shape == (32, 32)
    # The centre mode keeps one crop per image.
    center = DATASETS.build(crop_dataset(plain, (32, 32), 'center'))
    assert len(center) == 2
    with pytest.raises(ValueError, match='crops must be'):
        crop_dataset(plain, (32, 32), 'random')


@pytest.mark.slow
def test_study_in_grid_mode(tmp_path):
    from test_resolution import main
    cfg = Config.fromfile(WINWIN)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = {}
    for crops in ('grid', 'center'):
        args = ['--model', 'Win-Win', WINWIN, ckpt, '--sizes', '32',
                '48x96', '--crops', crops, '--out-dir',
                str(tmp_path / crops), '--cfg-options']
        for key in ('test_dataloader', 'val_dataloader'):
            args += [f'{key}.num_workers=0',
                     f'{key}.persistent_workers=False',
                     f'{key}.dataset.data_root={tmp_path / "scenes"}',
                     f'{key}.dataset.num_images=2',
                     f'{key}.dataset.img_size=(48,96)']
        main(args)
        out[crops] = json.loads(
            (tmp_path / crops / 'test_resolution.json').read_text())
    assert out['grid']['crops'] == 'grid'
    grid, center = (out[c]['models'][0]['miou'] for c in ('grid', 'center'))
    assert all(0 <= v <= 100 for v in grid.values())
    # A crop of the whole image is one crop in both modes.
    assert grid['48x96'] == pytest.approx(center['48x96'])
    assert (tmp_path / 'grid' / 'test_resolution.png').exists()
