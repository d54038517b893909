# Baseline: uniform random tokens instead of windows (paper Table 8,
# Appendix C, "Random (200 tokens)" in both frames, stochasticity 0.5: 3.18
# EPE on the paper's synthetic flow data; Sintel was not reported). Frame 1
# keeps 200 distinct tokens drawn uniformly (200 windows of 1x1 token);
# frame 2 keeps the 200 tokens that receive the most votes of frame 1's
# ground-truth flow endpoints, perturbed by noise (FlowGuidedWindows with
# 1x1 windows, ties at random). A convolutional head cannot run on isolated
# tokens, so a per-token linear head (TokenLinearHead on the last decoder
# block) regresses the 16x16 (u, v, c) of each token; the Laplacian loss
# runs on the ground truth of those tokens. Data, model, schedule and the
# temperature tuning on Sintel subtrain as vitb_flow_sintel.py; test: whole
# frames in one pass with the same head.
# The table's other rows: frame 1 or frame 2 with 2 windows of 10x10 tokens
# (e.g. num_windows=2, window_size=10 for frame 1), stochasticity 0 / 0.3.
_base_ = ['./vitb_flow_sintel.py']

crop_size = (432, 1024)
windows = dict(type='FlowGuidedWindows', patch_size=16, num_windows=200,
               window_size=1, num_windows2=200, window_size2=1,
               stochasticity=0.5, mode='flow_guided')
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomScale', crop_size=crop_size),
    dict(type='FlowRandomCrop', crop_size=crop_size),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
    windows,
    dict(type='PackFlowInputs'),
]
# The CroCo-Flow mix of vitb_flow_sintel.py with this pipeline.
_sintel = dict(type='SintelDataset', data_root='data/Sintel',
               split='subtrain', pipeline=train_pipeline)
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='RepeatDataset', times=40,
         dataset=dict(_sintel, pass_style='clean')),
    dict(type='RepeatDataset', times=40,
         dataset=dict(_sintel, pass_style='final')),
    dict(type='RepeatDataset', times=4, dataset=dict(
        type='FlyingThings3DDataset', data_root='data/flyingthings3d',
        split='train', pass_style=('clean', 'final'),
        direction=('into_future', 'into_past'), pipeline=train_pipeline)),
    dict(type='RepeatDataset', times=4, dataset=dict(
        type='FlyingChairsDataset', data_root='data/FlyingChairs_release',
        split='train', pipeline=train_pipeline)),
    dict(type='TartanAirDataset', data_root='data/TartanAir', split='train',
         pipeline=train_pipeline),
]))
del _sintel
# Per-token linear regression of (u, v, c) from the last decoder block
# (768 channels): 16x16 sub-pixels per token, no spatial mixing.
model = dict(decode_head=dict(
    _delete_=True,
    type='TokenLinearHead',
    in_channels=768,
    in_index=-1,
    upsample_factor=16,
    num_classes=3,
    out_channels=3,
    loss_decode=dict(type='LaplacianFlowLoss')))
