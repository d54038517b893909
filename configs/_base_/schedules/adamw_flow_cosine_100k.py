# Win-Win / CroCo-Flow optimiser (paper F.2): AdamW lr 1e-4, betas 0.9/0.95,
# weight decay 0.05 (none on biases and norms), one warm-up epoch, cosine to a
# minimum lr of 1e-6. Iteration-based, because the training mix uses an
# InfiniteSampler: 1,000 warm-up iterations, 100,000 in all (at 8 GPUs x 4
# pairs: 3.2 M pairs, ~30 passes over the Chairs + Things + Sintel mix). A
# config with another length redefines param_scheduler and train_cfg.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=1000),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=1000,
         end=100000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100000,
                 val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
