# Random isolated tokens (paper Table 2 left, 'Random tokens', MAE-style):
# 50 random tokens per image (the Win-Win budget), i.e. 50 windows of 1x1
# token, each with its true position. A convolutional head cannot run on
# scattered tokens (paper Appendix C), so a per-token linear head predicts
# the 16x16 pixels of each token; the labels are cropped to the same tokens.
# Test: the whole image in one pass, the same per-token head.
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomWindows', patch_size=16, num_windows=50, window_size=1),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=128,
    upsample_factor=16,
    num_classes=9,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, avg_non_ignore=True)))
