# Linear-head variant of vitb_2win22_bdd.py (paper Table 9, 'Win-Win (2 win.
# 22x22)', linear head): the same Win-Win training, the ConvNeXt head
# replaced by a per-token linear layer that predicts the 16x16 pixels of
# each token (TokenLinearHead). Paper: 62.1 mIoU (63.6 with the conv. head).
# The temperature is tuned after training as in the base config.
_base_ = ['./vitb_2win22_bdd.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=768,
    upsample_factor=16,
    num_classes=19,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, avg_non_ignore=True)))
