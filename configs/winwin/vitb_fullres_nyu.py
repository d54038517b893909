# Full-resolution baseline for vitb_2win14_nyu.py: the same model trained on
# whole 640x480 images (all 1200 tokens, no windows), same test. Paper
# (Appendix D, "Full-res. ViT"): delta1 87.7.
_base_ = ['./vitb_2win14_nyu.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Albu',
         transforms=[
             dict(type='RandomBrightnessContrast'),
             dict(type='RandomGamma'),
             dict(type='HueSaturationValue'),
         ]),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'depth_map_path', 'ori_shape', 'img_shape',
                    'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                    'category_id')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# Whole images on purpose (and an error if a pipeline adds windows).
model = dict(train_cfg=dict(whole_image=True))
# Train and test see the same number of tokens: no temperature to tune.
custom_hooks = []
