# Baseline: CroCo-Flow training on 320x384 crops (20x24 tokens, no windows),
# tested with CroCo-Flow's tiling (tiles of the training crop, overlap 0.9,
# confidence-weighted merge: ~90 forward passes per Sintel pair). Same data,
# model and schedule as vitb_flow_sintel.py (paper Table 4 right, "Crop").
_base_ = ['./vitb_flow_sintel.py']

crop_size = (320, 384)
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='FlowRandomScale', crop_size=crop_size),
    dict(type='FlowRandomCrop', crop_size=crop_size),
    dict(type='FlowRandomFlip', hflip_prob=0.5, vflip_prob=0.1),
    dict(type='FlowColorJitter'),
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
model = dict(test_cfg=dict(mode='tile', crop_size=crop_size, overlap=0.9))
# Crop training sees every token of its input: no temperature to tune.
custom_hooks = []
