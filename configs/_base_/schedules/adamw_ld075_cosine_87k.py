# Win-Win semantic segmentation schedule (paper F.1): AdamW (lr 1e-4,
# betas 0.9/0.999, weight decay 0.05), layer-wise lr decay 0.75, cosine
# schedule with warm-up. The paper trains 200 epochs on BDD100K's 7k training
# images; at a total batch of 16 (8 GPUs x 2) that is 87.5k iterations, and
# its two warm-up epochs are 875 iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    # fused: one kernel for all parameters instead of a loop of element-wise
    # ops per tensor (same update; on 2 CPU cores 0.12 s instead of 0.35 s
    # per ViT-B step with this layer-decay's 188 groups, docs/benchmark.md).
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05, fused=True),
    # mmpretrain's constructor reads model.get_layer_depth(); norms, biases
    # and other 1-D parameters get no weight decay.
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=875),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=875,
         end=87500),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=87500,
                 val_interval=8750)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
