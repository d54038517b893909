# Token budget study (paper Table 4 left, ~200 tokens a frame): Win-Win with
# 2 windows of 10x10 tokens in frame 1 and 4 flow-guided windows of
# 7x7 in frame 2 (200/196); everything else as vitb_flow_sintel.py (which is
# the 500-token row: 16x16 / 11x11). Paper: 2.00 EPE on Sintel subval clean.
_base_ = ['./vitb_flow_sintel.py']

crop_size = (432, 1024)
windows = dict(type='FlowGuidedWindows', patch_size=16, num_windows=2,
               window_size=10, num_windows2=4, window_size2=7,
               stochasticity=0.3, mode='flow_guided')
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
