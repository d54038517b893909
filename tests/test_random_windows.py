"""RandomWindows: geometry, the paper's Table 7 options, seeding, errors."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import TRANSFORMS
from winwin_mm.datasets.transforms import RandomWindows
from winwin_mm.structures import check_windows

BDD = np.zeros((720, 1280, 3), np.uint8)  # 45 x 80 tokens


def draw(transform, img=BDD, n=1):
    out = []
    for _ in range(n):
        boxes = transform(dict(img=img))['windows']
        assert boxes.dtype == np.int64 and boxes.ndim == 2
        assert boxes.shape[1] == 4
        check_windows(torch.from_numpy(boxes), img.shape[0], img.shape[1],
                      transform.patch_size)
        out.append(boxes)
    return out


def tokens(boxes, patch=16):
    """(h, w) of each window in tokens."""
    return (boxes[:, 3] - boxes[:, 1]) // patch, (boxes[:, 2] -
                                                  boxes[:, 0]) // patch


def test_paper_default_two_22x22():
    set_random_seed(0)
    for boxes in draw(RandomWindows(), n=50):
        h, w = tokens(boxes)
        assert len(boxes) == 2
        assert (h == 22).all() and (w == 22).all()


# The randomised schemes of the paper's Table 7 (left).
@pytest.mark.parametrize('cfg', [
    dict(num_windows=2, num_tokens=1024, aspect_ratio_range=(0.5, 2.0),
         size_ratio_max=2.0),
    dict(num_windows=(2, 3, 4), num_tokens=1024,
         aspect_ratio_range=(0.5, 2.0), size_ratio_max=2.0),
    dict(num_windows=2, num_tokens=(768, 1280)),
    dict(num_windows=(2, 3, 4), num_tokens=(768, 1280),
         aspect_ratio_range=(0.5, 2.0), size_ratio_max=2.0),
])
def test_table7_schemes(cfg):
    set_random_seed(0)
    transform = RandomWindows(**cfg)
    ks = set()
    for boxes in draw(transform, n=300):
        h, w = tokens(boxes)
        area = h * w
        ks.add(len(boxes))
        lo, hi = transform.aspect_ratio_range
        assert ((w / h >= lo - 1e-9) & (w / h <= hi + 1e-9)).all()
        assert area.max() <= transform.size_ratio_max * area.mean() + 1e-9
        if isinstance(cfg['num_tokens'], int):
            # Up to rounding: about one row or column per window.
            assert abs(area.sum() - cfg['num_tokens']) <= (h + w).sum()
        else:
            assert cfg['num_tokens'][0] <= area.sum() <= cfg['num_tokens'][1]
    nw = cfg['num_windows']
    assert ks == ({nw} if isinstance(nw, int) else set(nw))


def test_ratio_options_are_used():
    set_random_seed(0)
    boxes = draw(RandomWindows(num_tokens=1024, aspect_ratio_range=(0.5, 2),
                               size_ratio_max=2), n=100)
    ratios = np.concatenate([w / h for h, w in map(tokens, boxes)])
    sizes = [max(h * w) / np.mean(h * w) for h, w in map(tokens, boxes)]
    assert ratios.min() < 0.7 and ratios.max() > 1.4
    assert max(sizes) > 1.5


def test_odd_image_and_img_shape():
    set_random_seed(0)
    img = np.zeros((100, 170, 3), np.uint8)  # 6 x 10 tokens, with a rest
    for boxes in draw(RandomWindows(window_size=(3, 4)), img, n=50):
        assert boxes[:, 2].max() <= 160 and boxes[:, 3].max() <= 96
    # img_shape smaller than the array (padding): windows avoid the padding.
    results = RandomWindows(window_size=2, num_windows=3)(
        dict(img=np.zeros((128, 128, 3), np.uint8), img_shape=(64, 96)))
    assert results['windows'][:, 2].max() <= 96
    assert results['windows'][:, 3].max() <= 64


def test_per_window_sizes_and_patch_size():
    set_random_seed(0)
    for boxes in draw(RandomWindows(patch_size=8, num_windows=2,
                                    window_size=[(10, 12), (4, 4)]),
                      np.zeros((96, 128, 3), np.uint8), n=20):
        h, w = tokens(boxes, 8)
        assert (h.tolist(), w.tolist()) == ([10, 4], [12, 4])


def test_deterministic_under_mmengine_seed():

    def run(seed):
        set_random_seed(seed)
        t = RandomWindows(num_windows=(2, 3, 4), num_tokens=(768, 1280),
                          aspect_ratio_range=(0.5, 2), size_ratio_max=2)
        return [b.tolist() for b in draw(t, n=10)]

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize('cfg, names', [
    (dict(window_size=50), ['50x50', '45x80']),  # one window too large
    (dict(num_windows=(2, 8), window_size=22), ['8 ', '22x22', '3600']),
    (dict(num_tokens=4000), ['4000', '3600']),
    # Fits by area, not by shape: found out after max_tries.
    (dict(num_windows=3, window_size=30, max_tries=5), ['30x30', '5 tries']),
])
def test_clear_error_when_windows_cannot_fit(cfg, names):
    with pytest.raises(ValueError) as err:
        RandomWindows(**cfg)(dict(img=BDD))
    msg = str(err.value)
    for name in names + ['smaller windows', 'fewer windows']:
        assert name in msg, msg


def test_bad_arguments():
    with pytest.raises(ValueError, match='not both'):
        RandomWindows(window_size=22, num_tokens=1024)
    with pytest.raises(ValueError, match='token budget'):
        RandomWindows(window_size=22, aspect_ratio_range=(0.5, 2))
    with pytest.raises(ValueError, match='num_windows must be 2'):
        RandomWindows(num_windows=3, window_size=[(4, 4), (2, 2)])
    with pytest.raises(KeyError):
        RandomWindows()(dict())


def test_registered_and_repr():
    t = TRANSFORMS.build(dict(type='RandomWindows', num_windows=(2, 3),
                              num_tokens=(100, 200)))
    assert isinstance(t, RandomWindows)
    assert 'num_tokens=(100, 200)' in repr(t) and 'RandomWindows(' in repr(t)


def test_in_mmseg_pipeline_windows_reach_metainfo():
    init_default_scope('mmseg')  # as the runner does: mmseg's transforms
    set_random_seed(0)
    meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                 'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                 'reduce_zero_label', 'windows')
    pipeline = Compose([
        dict(type='RandomCrop', crop_size=(96, 160)),
        dict(type='RandomFlip', prob=1.0),
        dict(type='RandomWindows', window_size=(2, 3), num_windows=(2, 3)),
        dict(type='PackSegInputs', meta_keys=meta_keys),
    ])
    rng = np.random.default_rng(0)
    results = pipeline(
        dict(img=rng.integers(0, 255, (120, 200, 3), dtype=np.uint8),
             gt_seg_map=rng.integers(0, 5, (120, 200), dtype=np.uint8),
             seg_fields=['gt_seg_map'], img_shape=(120, 200),
             ori_shape=(120, 200)))
    windows = results['data_samples'].metainfo['windows']
    assert windows.dtype == np.int64 and windows.shape in ((2, 4), (3, 4))
    assert results['data_samples'].metainfo['flip']
    check_windows(torch.from_numpy(windows), 96, 160, 16)
