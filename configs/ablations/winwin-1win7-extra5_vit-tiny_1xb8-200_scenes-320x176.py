# Paper Table 7 right: 1 window of 7x7 tokens plus 5 isolated extra tokens
# outside it (the paper's 100 of 3600 scaled to this grid: about 2.5 % of
# the image). The extra tokens take part in attention; they are dropped
# before the head and the loss.
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16,
         num_windows=1, window_size=7,
         num_extra_tokens=5),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
