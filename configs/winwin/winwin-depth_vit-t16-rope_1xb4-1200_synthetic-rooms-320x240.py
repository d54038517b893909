# Demo: Win-Win depth on generated rooms (NYUv2 layout, exact depth), sized
# for 2 CPU cores. vitb_2win14_nyu.py at half resolution with a small RoPE
# ViT (192 dims, 6 blocks, 3 heads, patch 16) trained from scratch: 2 random
# windows of 7x7 tokens out of the 20x15 of each 320x240 image (98 of 300
# tokens, the paper's 392 of 1200), whole-image test in one forward pass.
# 1200 iterations cost about what the 400 of the full-resolution baseline
# (fullres-depth_..._1xb4-400_...) do: Win-Win iterations are ~2.7x cheaper.
# The rooms are generated on first use into data/synthetic_nyu_320x240.
_base_ = ['./vitb_2win14_nyu.py']

data_root = 'data/synthetic_nyu_320x240'
img_size = (240, 320)  # (H, W)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'category_id')
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
    dict(type='RandomWindows', patch_size=16, num_windows=2, window_size=7),
    dict(type='PackSegInputs', meta_keys=meta_keys + ('windows', )),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(type='SyntheticNYUDataset', data_root=data_root,
                 split='train', num_images=400, img_size=img_size, seed=0,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    persistent_workers=False,
    dataset=dict(type='SyntheticNYUDataset', data_root=data_root,
                 split='test', num_images=50, img_size=img_size, seed=0))
test_dataloader = val_dataloader
# The rooms have no sensor border: evaluate every valid pixel (the NYU crop
# is defined for real 640x480 frames).
val_evaluator = dict(crop_type=None)
test_evaluator = val_evaluator

model = dict(
    backbone=dict(arch=None, embed_dims=192, num_layers=6, num_heads=3,
                  out_indices=(5, ), drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(in_channels=192, channels=96, num_convs=2))

# From scratch: a larger lr than fine-tuning and no layer decay.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
max_iters = 1200
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=40),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=40,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None))
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=50,
         grid=(0.8, 2.0, 0.02)),
]
randomness = dict(seed=0)
