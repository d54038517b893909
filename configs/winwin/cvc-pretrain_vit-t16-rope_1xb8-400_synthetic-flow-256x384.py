# CroCo's cross-view completion on the flow demo's generated pairs, from
# scratch, as CroCo-Flow starts from CroCo weights. The demo's encoder (RoPE
# ViT 128 dims x 4 blocks) and decoder (96 dims x 3 blocks) rebuild the 90 %
# hidden tokens of frame 1 from its visible tokens and the whole frame 2
# (random 192x256 crops of both frames). No flow label is used.
# winwin-flow-cvc_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py starts the
# flow model from this checkpoint (README "Flow demo": measured; not yet the
# demo's default).
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
dataset_type = 'SyntheticFlowDataset'
data_root = 'data/synthetic_flow'
data = dict(num_train_scenes=40, num_val_scenes=2, frames_per_scene=10,
            img_size=(256, 384), seed=0)
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomCrop', crop_size=(192, 256)),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='subtrain',
                 pass_style='clean', pipeline=train_pipeline, **data))

# CroCo's from-scratch initialisation: Xavier-uniform linear layers.
xavier = dict(type='Xavier', layer='Linear', distribution='uniform')
enc, dec = 128, 96
model = dict(
    type='CrossViewCompletion',
    data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=16),
    backbone=dict(type='RoPEVisionTransformer', arch=None, patch_size=16,
                  embed_dims=enc, num_layers=4, num_heads=4,
                  out_indices=(3, ), drop_path_rate=0., init_cfg=xavier),
    decoder=dict(type='RoPECrossDecoder', in_channels=enc, embed_dims=dec,
                 num_layers=3, num_heads=4, out_indices=(0, 1, 2),
                 init_cfg=xavier),
    mask_ratio=0.9,
    norm_pix_loss=True)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.95),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0))
max_iters = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=40),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=40,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
# Pretraining has no validation or test: its loss is the log.
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
