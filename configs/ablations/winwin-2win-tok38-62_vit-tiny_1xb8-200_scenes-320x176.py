# Paper Table 7 left, row 4: 2 equal square windows sharing a budget drawn
# in [38, 62] tokens (the paper's [768, 1280] around 1024: +-25 %).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16,
         num_windows=2, num_tokens=(38, 62)),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
