# Crop baseline (paper Table 2, 'crop'): trained on one random crop of 4x4
# tokens (64x64 px, 16 tokens; compare with winwin-2win3_*, 18) of each image,
# whole crops through the model. Tested here on the whole image in one pass;
# see crop4-test-slide_* (tiling, 50 % overlap).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(64, 64)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(train_cfg=dict(whole_image=True))
custom_hooks = []
