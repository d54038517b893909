# Test config of crop7_* (train with that one): mmseg's slide tiling with
# tiles of the training crop (112x112 px) and 50 % overlap, logits averaged.
_base_ = ['./crop7_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(test_cfg=dict(mode='slide', crop_size=(112, 112),
                           stride=(56, 56)))
