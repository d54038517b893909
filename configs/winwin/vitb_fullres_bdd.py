# Full-resolution baseline for vitb_2win22_bdd.py (paper Table 2, 'Full-res.
# ViT'): the same model trained on whole 1280x720 images (all 3600 tokens,
# no windows), same whole-image test. Paper: 63.2 mIoU.
_base_ = ['./vitb_2win22_bdd.py']

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
# Train and test see the same number of tokens: no temperature to tune.
custom_hooks = []
