# Linear-head full-resolution baseline (paper Table 9, 'Full-res. ViT',
# linear head): whole 320x176 images, the per-token linear head of
# winwin-2win5-linear.
_base_ = ['./fullres_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=128,
    upsample_factor=16,
    num_classes=9,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, avg_non_ignore=True)))
