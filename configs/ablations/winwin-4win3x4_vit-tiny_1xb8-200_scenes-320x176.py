# Win-Win, 4 windows of 3x4 tokens (h x w, 48 tokens; paper Table 1 left
# '4 win.': 4x4 would be 64 tokens, 3x3 only 36).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16,
         num_windows=4, window_size=(3, 4)),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
