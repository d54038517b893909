# NYUv2 depth (640x480, mmseg's NYUDataset layout) for Win-Win training:
# mmseg's NYU settings (depth in metres via depth_rescale_factor=1e-3, flip
# and Albu photometric augmentations, DepthMetric with the NYU eval crop and
# the 1e-3..10 m range), with three changes:
# - training keeps the full 640x480 frame (no RandomCrop): the windows are
#   the crops, with their true positions in the frame;
# - no RandomDepthMix: in mmseg 1.2.2 it pastes the depth divided by
#   depth_rescale_factor, i.e. millimetres, into the uint8 image, where they
#   wrap modulo 256 (2500 mm -> 196): a sawtooth of the ground truth, not the
#   CutDepth augmentation it stands for;
# - testing is the whole image as stored (mmseg's Resize to height 480 is a
#   no-op on NYUv2 frames).
_base_ = ['mmseg::_base_/datasets/nyu.py']

# Paper (Appendix D): 2 square windows of 14x14 tokens out of 40x30.
windows = dict(type='RandomWindows', patch_size=16, num_windows=2,
               window_size=14)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'category_id')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Albu',
         transforms=[
             dict(type='RandomBrightnessContrast'),
             dict(type='RandomGamma'),
             dict(type='HueSaturationValue'),
         ]),
    windows,  # index 4: after the last geometric transform
    dict(type='PackSegInputs', meta_keys=meta_keys + ('windows', )),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's evaluator (min_depth_eval=1e-3, max_depth_eval=10, 'nyu_crop');
# depth_scale_factor writes `tools/test.py --out` PNGs in millimetres, the
# format of the ground truth.
val_evaluator = dict(depth_scale_factor=1000.0)
test_evaluator = val_evaluator
