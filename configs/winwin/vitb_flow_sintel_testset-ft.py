# Win-Win flow, MPI-Sintel test-set submission (paper Table 5, F.2): starting
# from the model of vitb_flow_sintel.py, fine-tune for 15 epochs on the
# CroCo-Flow mix with TartanAir, Sintel now on its whole training set (all
# scenes, clean + final, 40x each) since subval is no longer held out.
# Optimiser of adamw_flow_cosine_100k.py, cosine over the 15 epochs (one
# warm-up epoch). The temperature is tuned after training on 100
# full-resolution frames of Sintel train (all scenes, clean + final).
#
#   bash tools/dist_train.sh configs/winwin/vitb_flow_sintel_testset-ft.py 8 \
#       --cfg-options load_from=work_dirs/vitb_flow_sintel/iter_100000.pth
#   python tools/test.py configs/winwin/vitb_flow_sintel_testset-ft.py CKPT \
#       --out sintel_submission/   # .flo files of the test frames
_base_ = ['./vitb_flow_sintel.py']
load_from = 'work_dirs/vitb_flow_sintel/iter_100000.pth'

_sintel = dict(type='SintelDataset', data_root='data/Sintel', split='train',
               pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(datasets=[
        dict(type='RepeatDataset', times=40,
             dataset=dict(_sintel, pass_style='clean')),
        dict(type='RepeatDataset', times=40,
             dataset=dict(_sintel, pass_style='final')),
        dict(type='RepeatDataset', times=4, dataset={{_base_.things}}),
        dict(type='RepeatDataset', times=4, dataset={{_base_.chairs}}),
        {{_base_.tartanair}},
    ]))
del _sintel
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1,
         end=15, convert_to_iter_based=True),
]
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=15,
                 val_interval=5)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=5))
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=100,
         grid=(1.0, 2.0, 0.02), objective='decode.epe',
         dataset=dict(type='SintelDataset', data_root='data/Sintel',
                      split='train', pass_style=('clean', 'final'),
                      pipeline={{_base_.train_pipeline}})),
]
