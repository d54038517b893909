# The seg demo's generated street scenes (same generator, 9 classes) at
# 320x176 (a 20x11 token grid at patch 16) for the CPU ablations: 200
# training / 40 validation images, written on first use into
# data/synthetic_scenes_320x176. Training: flip, photometric distortion,
# then 2 random windows of 5x5 tokens (Win-Win); configs replace step 4
# (RandomWindows) or the whole train pipeline. Test: whole images.
dataset_type = 'SyntheticSceneDataset'
data_root = 'data/synthetic_scenes_320x176'
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'windows', 'extra_tokens')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16, num_windows=2, window_size=5),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_images=200, img_size=(176, 320), seed=0,  # (H, W)
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_images=40, img_size=(176, 320), seed=0,  # (H, W)
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
