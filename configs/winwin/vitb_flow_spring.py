# Win-Win fine-tuning on Spring (paper §4.2, Table 6): Full-HD 1080x1920
# frames (67x120 tokens), 2025 tokens per frame (a quarter of the 8,100 of a
# whole frame, as on Sintel): frame 1 = 2 random windows with a 2,025-token
# budget, frame 2 = 4 flow-guided windows of 22x23 tokens (2,024). Starts from
# the Sintel model; 16 epochs. Evaluation: whole Full-HD frames in one pass,
# with Spring's metric (ground truth at 2x: per pixel, the best of its 4
# sub-pixel vectors). 8 GPUs x 2 pairs.
#
#   bash tools/dist_train.sh configs/winwin/vitb_flow_spring.py 8 \
#       --cfg-options load_from=work_dirs/vitb_flow_sintel/iter_100000.pth
_base_ = ['./vitb_flow_sintel.py']

# Weights come from the Sintel model (load_from), not from CroCo v2.
model = dict(backbone=dict(init_cfg=None), decoder=dict(init_cfg=None))
load_from = 'work_dirs/vitb_flow_sintel/iter_100000.pth'

windows = dict(type='FlowGuidedWindows', patch_size=16, num_windows=2,
               window_size=None, num_tokens=2025, size_ratio_max=1.5,
               aspect_ratio_range=(0.5, 2.0), num_windows2=4,
               window_size2=(22, 23), stochasticity=0.3, mode='flow_guided')
train_pipeline = [
    # Training uses the 2x ground truth resized to the image.
    dict(type='LoadFlowPair', gt_to_image_size=True),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
    windows,
    dict(type='PackFlowInputs'),
]
test_pipeline = [
    dict(type='LoadFlowPair'),  # keeps the 2x ground truth for the metric
    dict(type='PackFlowInputs'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(_delete_=True, type='SpringDataset', data_root='data/spring',
                 split='subtrain', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='SpringDataset', data_root='data/spring',
                 split='subval', camera='left', direction='FW',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# 16 epochs of ~19.6k pairs at 16 pairs per iteration.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=1200),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=1200,
         end=19600),
]
train_cfg = dict(max_iters=19600, val_interval=2450)
default_hooks = dict(checkpoint=dict(interval=2450))
# Temperature: tuned by search after training on 50 whole Full-HD frames of
# Spring train (windows, flips and jitter dropped), objective: their EPE.
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=50,
         grid=(1.0, 2.0, 0.02), objective='decode.epe',
         dataset=dict(type='SpringDataset', data_root='data/spring',
                      split='train', pipeline=train_pipeline)),
]
# Spring names frames alike in every sequence: keep SEQ/camera/frame in the
# names of the .flo files written by tools/test.py --out.
val_evaluator = dict(type='FlowMetric', name_depth=3)
test_evaluator = val_evaluator
