# Full-resolution baseline of the depth demo: the same small model trained
# on whole 320x240 images (all 300 tokens, no windows) for 400 iterations,
# about the compute of the Win-Win demo's 1200.
_base_ = ['./winwin-depth_vit-t16-rope_1xb4-1200_synthetic-rooms-320x240.py']

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
model = dict(train_cfg=dict(whole_image=True))
custom_hooks = []
max_iters = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=40),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=40,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
