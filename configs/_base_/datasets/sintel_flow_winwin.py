# Optical flow training mix of CroCo-Flow / Win-Win (paper §4.2, F.2), built
# from mmengine's RepeatDataset and ConcatDataset: one epoch holds
# 40 x Sintel subtrain clean + 40 x Sintel subtrain final + 4 x FlyingThings3D
# (clean and final passes) + 4 x FlyingChairs train + 1 x TartanAir; validated
# on Sintel subval (temple_2, temple_3) clean + final at full resolution in
# one pass. Training pairs are scaled (CroCo's FlowAugmentor)
# and cropped to Sintel's 432x1024 so every pair has 27x64 tokens, and the
# windows are drawn on that full-resolution frame.
#
# Layouts and splits: docs/flow.md. A config that wants other windows
# redefines ``windows`` and ``train_pipeline``.
crop_size = (432, 1024)
windows = dict(type='FlowGuidedWindows', patch_size=16, num_windows=2,
               window_size=16, num_windows2=4, window_size2=11,
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
test_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='PackFlowInputs'),
]
chairs = dict(type='FlyingChairsDataset',
              data_root='data/FlyingChairs_release', split='train',
              pipeline=train_pipeline)
things = dict(type='FlyingThings3DDataset', data_root='data/flyingthings3d',
              split='train', pass_style=('clean', 'final'),
              direction=('into_future', 'into_past'),
              pipeline=train_pipeline)
tartanair = dict(type='TartanAirDataset', data_root='data/TartanAir',
                 split='train', pipeline=train_pipeline)


def sintel_pass(pass_style):
    return dict(type='SintelDataset', data_root='data/Sintel',
                split='subtrain', pass_style=pass_style,
                pipeline=train_pipeline)


def repeat(dataset, times):
    return dict(type='RepeatDataset', times=times, dataset=dataset)


train_mix = [repeat(sintel_pass('clean'), 40), repeat(sintel_pass('final'), 40),
             repeat(things, 4), repeat(chairs, 4), tartanair]
del sintel_pass, repeat
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ConcatDataset', datasets=train_mix))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SintelDataset', data_root='data/Sintel',
                 split='subval', pass_style=('clean', 'final'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
# --out DIR writes DIR/{clean,final}/SCENE/frame_XXXX.flo: the pass is kept
# (name_depth=3) so the two passes' same-named frames do not collide; it is
# also the layout of Sintel's submission bundler.
val_evaluator = dict(type='FlowMetric', name_depth=3)
test_evaluator = val_evaluator
