# CroCo's cross-view completion on the flow demo's generated pairs, from
# scratch, as CroCo-Flow starts from CroCo weights. The demo's encoder (RoPE
# ViT 128 dims x 4 blocks) and decoder (96 dims x 3 blocks) rebuild the 90 %
# hidden tokens of frame 1 from its visible tokens and the whole frame 2
# (random 192x256 crops of both frames). No flow label is used.
# winwin-flow-cvc_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py starts the
# flow model from this checkpoint (docs/flow_demo.md: measured; not yet the
# demo's default).
# The flow demo's data, optimiser and hooks; another model, crops, a shorter
# schedule and no validation.
_base_ = ['./winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py']
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomCrop', crop_size=(192, 256)),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))

# CroCo's from-scratch initialisation: Xavier-uniform linear layers.
xavier = dict(type='Xavier', layer='Linear', distribution='uniform')
enc, dec = 128, 96
model = dict(
    _delete_=True,
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

max_iters = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=40),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=40,
         end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)
# Pretraining has no validation, test or temperature tuning: its loss is
# the log.
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
custom_hooks = []
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(interval=max_iters))
