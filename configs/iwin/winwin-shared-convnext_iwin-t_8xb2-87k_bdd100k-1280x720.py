# Win-Win for Iwin-T: winwin-convnext_iwin-t_8xb2-87k_bdd100k-1280x720.py
# with the windows of an image sharing one forward pass
# (window_mode='shared'): their tokens attend together within the
# interleaved groups of the whole 1280x720 image's map, as they will at test
# (docs/iwin.md). The windows' corners must lie on the 32-pixel grid, so
# RandomWindows samples them with patch_size=32 (11 x 11 cells of 32 px =
# 352 px windows).
_base_ = ['./winwin-convnext_iwin-t_8xb2-87k_bdd100k-1280x720.py']
windows = dict(type='RandomWindows', patch_size=32, num_windows=2,
               window_size=11)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    windows,
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(backbone=dict(window_mode='shared'))
