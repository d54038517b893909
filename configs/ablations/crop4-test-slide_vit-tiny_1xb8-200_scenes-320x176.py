# Test config of crop4_* (train with that one): mmseg's slide tiling with
# tiles of the training crop (64x64 px) and 50 % overlap, logits averaged.
_base_ = ['./crop4_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(test_cfg=dict(mode='slide', crop_size=(64, 64),
                           stride=(32, 32)))
