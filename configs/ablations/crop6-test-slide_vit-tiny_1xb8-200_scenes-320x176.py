# Test config of crop6_* (train with that one): mmseg's slide tiling with
# tiles of the training crop (96x96 px) and 50 % overlap, logits averaged.
_base_ = ['./crop6_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(test_cfg=dict(mode='slide', crop_size=(96, 96),
                           stride=(48, 48)))
