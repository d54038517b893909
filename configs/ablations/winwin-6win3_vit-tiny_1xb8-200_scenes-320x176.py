# Win-Win, 6 windows of 3x3 tokens (54 tokens; paper Table 1 left '6 win.').
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16,
         num_windows=6, window_size=3),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
