"""TemperatureTuningHook tunes on full-resolution frames of a named split."""
import cv2
import numpy as np
from mmengine.registry import init_default_scope

import winwin_mm  # noqa: F401  (registers)
from winwin_mm.datasets import write_flow
from winwin_mm.engine.hooks.temperature_hook import TemperatureTuningHook

H, W = 24, 40  # stored frame size; the training crop below is smaller


def sintel_frames(root, scenes=('alley_1', 'temple_2')):
    rng = np.random.default_rng(0)
    for s in scenes:
        for i in (1, 2, 3):
            path = root / 'training' / 'clean' / s / f'frame_{i:04d}.png'
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), rng.integers(0, 255, (H, W, 3), np.uint8))
        for i in (1, 2):
            path = root / 'training' / 'flow' / s / f'frame_{i:04d}.flo'
            path.parent.mkdir(parents=True, exist_ok=True)
            write_flow(str(path), rng.normal(0, 2, (H, W, 2)).astype(
                np.float32))


def test_hook_tunes_on_named_split_at_full_resolution(tmp_path):
    init_default_scope('mmseg')
    sintel_frames(tmp_path)
    crop = (16, 16)
    pipeline = [
        dict(type='LoadFlowPair'),
        dict(type='FlowRandomScale', crop_size=crop),
        dict(type='FlowRandomCrop', crop_size=crop),
        dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
        dict(type='FlowColorJitter'),
        dict(type='FlowGuidedWindows', patch_size=8, num_windows=1,
             window_size=2, num_windows2=1, window_size2=2,
             stochasticity=0.3, mode='flow_guided'),
        dict(type='PackFlowInputs'),
    ]
    # The training set would fail to build (no such folder): the hook must
    # not touch it when a tuning dataset is named.
    train_dataloader = dict(num_workers=0, dataset=dict(
        type='SintelDataset', data_root=str(tmp_path / 'missing'),
        split='train', pipeline=pipeline))
    hook = TemperatureTuningHook(num_images=10, dataset=dict(
        type='SintelDataset', data_root=str(tmp_path), split='subtrain',
        pass_style='clean', val_scenes=('temple_2',), pipeline=pipeline))
    loader = hook.tuning_dataloader(train_dataloader)
    subset = loader.dataset
    infos = [subset.dataset.get_data_info(i) for i in subset.indices]
    assert [(d['scene'], d['frame']) for d in infos] == [
        ('alley_1', 1), ('alley_1', 2)]
    for i in range(len(subset)):
        item = subset[i]
        assert tuple(item['inputs'].shape[-2:]) == (H, W)  # no crop
        assert 'windows' not in item['data_samples'].metainfo
