# Flow demo: Win-Win optical flow on generated scenes in the Sintel layout,
# sized for 2 CPU cores (`make demo-flow`). A small CroCo-Flow-style model
# (RoPE ViT encoder 128 dims x 4 blocks shared by both frames, cross-attention
# decoder 96 dims x 3 blocks, DPT head) is trained from scratch with the
# paper's binocular windows: 2 random windows of 6x6 tokens in frame 1 and 4
# flow-guided windows of 4x4 tokens in frame 2 (stochasticity 0.3), out of
# the 16x24 tokens of each 256x384 frame (19% and 17% of the tokens). It is
# evaluated on whole frames in one forward pass (and, by the demo, with
# CroCo-Flow tiling). The dataset (textured layers with known affine motion,
# occlusions) is generated on first use into data/synthetic_flow.
# Two additions to CroCo-Flow make this small model learn flow in minutes
# (docs/flow_demo.md has what each changes): each token's embedding reads
# the 64x64 pixels around its 16x16 patch (patch_kernel_size), and a
# matching readout with its own loss adds the offset of each frame-1
# token's match in frame 2 to the head's flow (MatchingFlowReadout).
_base_ = [
    '../_base_/models/winwin_crocoflow_vit-b16.py',
    '../_base_/default_runtime.py',
]
dataset_type = 'SyntheticFlowDataset'
data_root = 'data/synthetic_flow'
data = dict(num_train_scenes=40, num_val_scenes=2, frames_per_scene=10,
            img_size=(256, 384), seed=0)
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
    # Index 3: the study (tools/flow_window_study.py) overrides its options.
    dict(type='FlowGuidedWindows', patch_size=16, num_windows=2,
         window_size=6, num_windows2=4, window_size2=4, stochasticity=0.3,
         mode='flow_guided'),
    dict(type='PackFlowInputs'),
]
test_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='subtrain',
                 pass_style='clean', pipeline=train_pipeline, **data))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='subval',
                 pass_style='clean', pipeline=test_pipeline, **data))
test_dataloader = val_dataloader
val_evaluator = dict(type='FlowMetric')
test_evaluator = val_evaluator
visualizer = dict(type='FlowLocalVisualizer',
                  vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')

enc, dec = 128, 96
model = dict(
    backbone=dict(arch=None, embed_dims=enc, num_layers=4, num_heads=4,
                  out_indices=(3, ), patch_kernel_size=64, init_cfg=None),
    decoder=dict(in_channels=enc, embed_dims=dec, num_layers=3, num_heads=4,
                 out_indices=(0, 1, 2), init_cfg=None),
    decode_head=dict(in_channels=[enc, dec, dec, dec], channels=32,
                     layer_dims=(16, 32, 48, 64), last_dim=16),
    # Matches within 3 tokens (48 px) of each frame-1 token; the matching
    # loss keeps the features apart (through the flow loss alone they
    # collapsed, docs/flow_demo.md).
    matching=dict(type='MatchingFlowReadout', in_channels=enc, radius=3,
                  loss_weight=1.0),
    # CroCo-Flow tiling baseline (the demo runs it too):
    # test_cfg=dict(mode='tile', crop_size=(128, 128), overlap=0.9)
    test_cfg=dict(mode='whole'))

# From scratch: a larger lr than fine-tuning (paper F.2 otherwise).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.95),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=50,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='FlowVisualizationHook'))
randomness = dict(seed=0)

# Tune the attention temperature on 40 whole training pairs after training,
# with the training EPE as objective (paper F.2's grid, searched).
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=40,
         grid=(0.8, 2.0, 0.02), objective='decode.epe'),
]
