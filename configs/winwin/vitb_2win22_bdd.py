# Win-Win on BDD100K (paper §4.1 / F.1): RoPE ViT-B/16 from CroCo v2, ConvNeXt
# head, 2 random windows of 22x22 tokens per 1280x720 image, full-resolution
# whole-image test. 8 GPUs x 2 images, 87.5k iterations (200 epochs).
_base_ = [
    '../_base_/models/winwin_vit-b16_convnext.py',
    '../_base_/datasets/bdd100k_winwin.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_ld075_cosine_87k.py',
]
# Checkpoint hook (SafeCheckpointHook) from the runtime; its schedule here.
default_hooks = dict(checkpoint=dict(interval=8750, max_keep_ckpts=3))

# After training, before the last checkpoint and the final evaluation: tune
# the attention temperature on 700 full-resolution training images (paper
# F.1, grid step 0.02), with a search instead of the full sweep.
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=700,
         grid=(0.8, 2.0, 0.02)),
]
