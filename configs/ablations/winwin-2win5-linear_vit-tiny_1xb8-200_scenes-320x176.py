# Linear-head Win-Win (paper Table 9, 'Win-Win', linear head): 2 windows of
# 5x5 tokens, the ConvNeXt head replaced by the per-token linear head of
# randtokens-50-linear (each token predicts its 16x16 pixels).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=128,
    upsample_factor=16,
    num_classes=9,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, avg_non_ignore=True)))
