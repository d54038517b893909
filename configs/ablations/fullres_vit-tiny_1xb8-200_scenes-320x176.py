# Full-resolution baseline (paper Table 2 left, 'Full-res. ViT'): the
# Win-Win model trained on whole 320x176 images (all 220 tokens, no
# windows), same whole-image test. No temperature to tune.
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# Whole images on purpose (and an error if a pipeline adds windows).
model = dict(train_cfg=dict(whole_image=True))
custom_hooks = []
