# Paper Table 7 left, row 3: 2, 3 or 4 windows sharing 50 tokens, the
# largest up to 2x the average size, aspect ratios in [1/2, 2].
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16,
         num_windows=(2, 3, 4), num_tokens=50, size_ratio_max=2.0,
         aspect_ratio_range=(0.5, 2.0), min_side=2),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
