"""FlowGuidedWindows (paper Appendix B): flow-following frame-2 windows,
geometry, seeding, modes, fallbacks and errors."""
import numpy as np
import pytest
import torch
from mmengine.runner import set_random_seed

import winwin_mm  # noqa: F401  (registers)
from mmseg.registry import TRANSFORMS
from winwin_mm.datasets.transforms import FlowGuidedWindows
from winwin_mm.datasets.transforms.flow_guided_windows import (
    bin_flow_endpoints, greedy_windows, window_sums)
from winwin_mm.structures import check_windows

P = 8  # patch size: small images keep the tests fast


def pair(gh=12, gw=12, flow=(2 * P, 1 * P)):
    h, w = gh * P, gw * P
    gt = np.empty((h, w, 2), np.float32)
    gt[...] = flow
    img = np.zeros((h, w, 3), np.uint8)
    return dict(img=img, img2=img.copy(), gt_flow=gt,
                gt_flow_valid=np.ones((h, w), bool), img_shape=(h, w))


def boxes_set(b):
    return sorted(map(tuple, np.asarray(b).tolist()))


def touching(b):
    """Whether two windows share an edge or corner (ties in the greedy)."""
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            if (min(b[i, 2], b[j, 2]) >= max(b[i, 0], b[j, 0])
                    and min(b[i, 3], b[j, 3]) >= max(b[i, 1], b[j, 1])):
                return True
    return False


# ------------------------------------------------------- pure functions
def test_binning_counts_valid_endpoints_in_view():
    flow = np.zeros((4 * P, 4 * P, 2), np.float32)
    flow[..., 0] = P  # one token to the right
    valid = np.ones(flow.shape[:2], bool)
    valid[0, 0] = False  # one pixel of the window does not count
    windows = np.array([[0, 0, P, P], [3 * P, 0, 4 * P, P]])
    counts = bin_flow_endpoints(flow, valid, windows, (4, 4), P)
    expected = np.zeros((4, 4))
    expected[0, 1] = P * P - 1  # the second window lands out of view
    np.testing.assert_array_equal(counts, expected)
    # Sub-token flow: pixel centres + 0.5 px land half in the next token.
    flow[..., 0] = P / 2
    counts = bin_flow_endpoints(flow, None, windows[:1], (4, 4), P)
    assert counts[0, 0] == counts[0, 1] == P * P / 2


def test_window_sums_and_greedy_pick_non_overlapping_maxima():
    score = np.zeros((6, 6))
    score[0:2, 0:2] = 5
    score[3:5, 3:5] = 4
    sums = window_sums(score, (2, 2))
    assert sums.shape == (5, 5) and sums[0, 0] == 20 and sums[3, 3] == 16
    boxes = greedy_windows(score, (2, 2), 2)
    assert boxes_set(boxes) == [(0, 0, 2, 2), (3, 3, 5, 5)]
    # A central pick leaves no room for a second 2x2 in a 3x3 grid.
    score = np.zeros((3, 3))
    score[1, 1] = 1
    assert greedy_windows(score, (2, 2), 2) is None


def test_constant_token_flow_shifts_hand_chosen_windows():
    windows = np.array([[0, 0, 4 * P, 4 * P], [6 * P, 2 * P, 10 * P, 6 * P]])
    r = pair(10, 12, flow=(2 * P, 1 * P))
    counts = bin_flow_endpoints(r['gt_flow'], r['gt_flow_valid'], windows,
                                (10, 12), P)
    got = greedy_windows(counts, (4, 4), 2) * P
    assert boxes_set(got) == boxes_set(windows + [2 * P, P, 2 * P, P])


# ------------------------------------------------------------ transform
def test_stochasticity_zero_frame2_windows_follow_the_flow():
    shift = np.array([2 * P, -1 * P, 2 * P, -1 * P])
    t = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=3,
                          stochasticity=0.)
    checked = 0
    for seed in range(60):
        set_random_seed(seed)
        out = t(pair(12, 12, flow=(2 * P, -1 * P)))
        w1, w2 = out['windows'], out['windows2']
        assert w2.shape == w1.shape == (2, 4) and w2.dtype == np.int64
        moved = w1 + shift
        if moved.min() < 0 or moved.max() > 12 * P or touching(w1):
            continue  # partly out of view / tied positions
        assert boxes_set(w2) == boxes_set(moved)
        checked += 1
    assert checked >= 10


def test_windows_in_bounds_aligned_non_overlapping_and_seeded():
    rng = np.random.RandomState(0)
    r0 = pair(10, 14)
    r0['gt_flow'] = rng.uniform(-30, 30, r0['gt_flow'].shape).astype(
        np.float32)
    r0['gt_flow_valid'] = rng.rand(*r0['gt_flow'].shape[:2]) > 0.2
    t = TRANSFORMS.build(dict(type='FlowGuidedWindows', patch_size=P,
                              num_windows=2, window_size=3, num_windows2=4,
                              window_size2=(2, 3), stochasticity=0.3))
    runs = []
    for _ in range(2):
        set_random_seed(7)
        draws = []
        for _ in range(30):
            out = t({k: v.copy() if isinstance(v, np.ndarray) else v
                     for k, v in r0.items()})
            for key, n in (('windows', 2), ('windows2', 4)):
                b = torch.from_numpy(out[key])
                assert b.shape == (n, 4)
                check_windows(b, 10 * P, 14 * P, P)  # bounds/grid/overlap
            w2 = out['windows2']
            assert ((w2[:, 2] - w2[:, 0]) == 3 * P).all()
            assert ((w2[:, 3] - w2[:, 1]) == 2 * P).all()
            draws.append((out['windows'], w2))
        runs.append(draws)
    for (a1, a2), (b1, b2) in zip(*runs):
        np.testing.assert_array_equal(a1, b1)
        np.testing.assert_array_equal(a2, b2)
    assert len({boxes_set(d[1])[0] for d in runs[0]}) > 1  # not constant


def test_stochasticity_perturbs_the_choice():
    t = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=3,
                          stochasticity=3.)
    differs = 0
    for seed in range(20):
        set_random_seed(seed)
        out = t(pair(12, 12, flow=(0, 0)))
        differs += boxes_set(out['windows2']) != boxes_set(out['windows'])
    assert differs > 0


def test_modes_same_and_random():
    set_random_seed(0)
    same = FlowGuidedWindows(patch_size=P, num_windows=3, window_size=2,
                             mode='same')
    out = same(pair())
    np.testing.assert_array_equal(out['windows'], out['windows2'])
    out = same({'img': np.zeros((12 * P, 12 * P, 3), np.uint8),
                'img2': np.zeros((12 * P, 12 * P, 3), np.uint8)})
    assert out['windows2'].shape == (3, 4)  # no flow needed
    with pytest.raises(ValueError, match='same'):
        FlowGuidedWindows(mode='same', num_windows2=4)

    rand = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=3,
                             num_windows2=4, window_size2=2, mode='random')
    r = pair()
    del r['gt_flow']  # random placement ignores the flow
    seen = set()
    for seed in range(10):
        set_random_seed(seed)
        out = rand(dict(r))
        check_windows(torch.from_numpy(out['windows2']), 12 * P, 12 * P, P)
        assert out['windows2'].shape == (4, 4)
        seen.add(tuple(out['windows2'].ravel()))
    assert len(seen) > 1
    with pytest.raises(ValueError, match='mode'):
        FlowGuidedWindows(mode='tiles')


def test_falls_back_to_random_when_nothing_lands_in_view():
    t = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=3,
                          num_windows2=3, window_size2=2, stochasticity=0.)
    for flow in ((1000., 0.), (np.nan, np.nan)):
        set_random_seed(0)
        out = t(pair(flow=flow))
        check_windows(torch.from_numpy(out['windows2']), 12 * P, 12 * P, P)
        assert out['windows2'].shape == (3, 4)


def test_clear_errors_when_windows_cannot_fit():
    t = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=3,
                          num_windows2=4, window_size2=7)
    with pytest.raises(ValueError, match=r'frame 2.*7x7.*6x6-token'):
        t(pair(6, 6))
    t = FlowGuidedWindows(patch_size=P, num_windows=2, window_size=9)
    with pytest.raises(ValueError, match=r'frame 1.*9x9'):
        t(pair(6, 6))
    with pytest.raises(KeyError, match='gt_flow'):
        r = pair()
        del r['gt_flow']
        FlowGuidedWindows(patch_size=P, window_size=2)(r)


def test_paper_table3_settings_build():
    for n, s1, m, s2 in ((2, 10, 4, 7), (2, 10, 3, 8), (3, 8, 3, 7)):
        t = FlowGuidedWindows(num_windows=n, window_size=s1,
                              num_windows2=m, window_size2=s2,
                              stochasticity=0.2)
        r = pair(24, 32, flow=(5.5, -3.))
        r = {k: v for k, v in r.items()}
        r['img'] = np.zeros((24 * 16, 32 * 16, 3), np.uint8)
        r['img2'] = r['img'].copy()
        r['gt_flow'] = np.full((24 * 16, 32 * 16, 2), 7., np.float32)
        r['gt_flow_valid'] = np.ones((24 * 16, 32 * 16), bool)
        r['img_shape'] = (24 * 16, 32 * 16)
        out = t(r)
        assert out['windows'].shape == (n, 4)
        assert out['windows2'].shape == (m, 4)
        check_windows(torch.from_numpy(out['windows2']), 24 * 16, 32 * 16, 16)
