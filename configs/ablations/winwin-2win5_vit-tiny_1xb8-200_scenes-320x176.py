# Win-Win, the ablations' default ('2 win.' of the paper's Tables 1, 2, 7):
# two random windows of 5x5 tokens, 50 of the 20x11 = 220 tokens of a
# 320x176 scene (23 %, as the paper's 968 of 3600), whole-image test in one
# forward pass. The attention temperature is tuned on 20 whole training
# images after training (the last checkpoint holds it); tools/ablation.py
# trains without the hook and tunes with tools/tune_temperature.py, so that
# both the untuned and the tuned model are evaluated.
_base_ = [
    '../_base_/models/winwin_vit-tiny_convnext_scenes.py',
    '../_base_/datasets/synthetic_scenes_winwin.py',
    '../_base_/schedules/adamw_scratch_cosine_200.py',
    '../_base_/default_runtime.py',
]
# One checkpoint at the end; TrainTimeHook writes train_time.json (the time
# of the training iterations alone) for tools/ablation.py.
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval={{_base_.max_iters}}, max_keep_ckpts=1),
    train_time=dict(type='TrainTimeHook'))
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=20,
         grid=(0.8, 2.0, 0.02)),
]
