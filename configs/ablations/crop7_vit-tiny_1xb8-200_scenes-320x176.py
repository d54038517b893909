# Crop baseline (paper Table 2, 'crop'): trained on one random crop of 7x7
# tokens (112x112 px, 49 tokens, the Win-Win budget) of each image, whole crops
# through the model. Tested here on the whole image in one pass; see
# crop7-test-slide_* (tiling, 50 % overlap) and crop7-test-resize_* (resize to
# the crop size and back).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(train_cfg=dict(whole_image=True))
custom_hooks = []
