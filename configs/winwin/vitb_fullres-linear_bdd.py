# Linear-head variant of vitb_fullres_bdd.py (paper Table 9, 'Full-res.
# ViT', linear head): whole 1280x720 images (3600 tokens), the per-token
# linear head of vitb_2win22-linear_bdd.py. Paper: 61.6 mIoU (63.2 with the
# conv. head). No temperature to tune (train and test see the same tokens).
_base_ = ['./vitb_fullres_bdd.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=768,
    upsample_factor=16,
    num_classes=19,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, avg_non_ignore=True)))
