# Win-Win optimiser (paper F.1: AdamW lr 1e-4, betas 0.9/0.999, weight decay
# 0.05, layer-wise lr decay 0.75, cosine with warm-up) on mmseg's NYUv2
# budget: 25k iterations at a total batch of 32, as mmseg's VPD NYU configs
# (about 33 epochs of the ~24k training frames); two warm-up epochs.
_base_ = ['./adamw_ld075_cosine_87k.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=1500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=1500,
         end=25000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=25000,
                 val_interval=2500)
