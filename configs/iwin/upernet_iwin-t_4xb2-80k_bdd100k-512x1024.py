# UPerNet + Iwin-T on BDD100K (19 classes): trained on 512x1024 crops of
# randomly rescaled 1280x720 images, evaluated on the full 1280x720 images in
# one forward pass (no resize, no tiling). 4 GPUs x 2 images, 80k iterations.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/bdd100k.py',
    '../_base_/default_runtime.py',
]

# Official Iwin-T ImageNet-1k checkpoint (224 px), saved under this name; see
# docs/iwin.md. Its classifier (head, final norm) is dropped on loading.
checkpoint_file = 'checkpoints/iwin_tiny_patch4_window7_224.pth'
crop_size = (512, 1024)
# Test images stay 1280x720; they are padded to a multiple of 32 (the size at
# which all Iwin stages align) and the prediction is cropped back.
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='IwinTransformer',
        arch='t',  # 96 / (2, 2, 6, 2) / (3, 6, 12, 24)
        window_size=16,  # official choice for inputs of 512 px and more
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=19),
    auxiliary_head=dict(in_channels=384, num_classes=19),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(1280, 720), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [  # full resolution: no Resize
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW as in mmseg's Swin/UPerNet configs; no weight decay on norms.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                   weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=80000,
         by_epoch=False),
]
# mmseg's 80k schedule: validation and a checkpoint every 8k iterations.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=8000))
