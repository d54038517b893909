# BDD100K (10k split, 19 classes, 1280x720) for Win-Win training: mmseg's
# dataset settings, with pipelines that keep the full resolution. Training
# samples windows on the final augmented image; testing is the whole image.
_base_ = ['mmseg::_base_/datasets/bdd100k.py']

# Paper default: 2 square windows of 22x22 tokens out of 80x45. A config that
# wants other windows redefines train_pipeline (and train_dataloader).
windows = dict(type='RandomWindows', patch_size=16, num_windows=2,
               window_size=22)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'windows')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    windows,
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
