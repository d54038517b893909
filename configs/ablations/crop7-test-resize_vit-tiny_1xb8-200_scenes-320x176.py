# Test config of crop7_* (train with that one): the image is resized to the
# training crop (112x112 px, aspect ratio not kept, as the paper's 512x512
# from 1280x720), predicted in one pass, and the logits resized back to
# 320x176; the labels stay at full resolution.
_base_ = ['./crop7_vit-tiny_1xb8-200_scenes-320x176.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
