# Win-Win on NYUv2 depth (paper Appendix D): RoPE ViT-B/16 from CroCo v2,
# ConvNeXt head regressing depth (SiLog loss, 0..10 m), 2 random windows of
# 14x14 tokens per 640x480 image (392 of 1200 tokens), whole-image test in
# one forward pass. 8 GPUs x 4 images, 25k iterations. Paper: delta1 87.3
# (full-resolution training: 87.7, see vitb_fullres_nyu.py).
_base_ = [
    '../_base_/models/winwin_vit-b16_convnext_depth.py',
    '../_base_/datasets/nyu_winwin.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_ld075_cosine_25k.py',
]
# Checkpoint hook (SafeCheckpointHook) from the runtime; its schedule here.
default_hooks = dict(
    checkpoint=dict(interval=2500, max_keep_ckpts=3, save_best='rmse',
                    rule='less'))

# Softmax temperature tuned after training on 700 full-resolution training
# images (paper Appendix E / F.1), saved in the last checkpoint.
custom_hooks = [
    dict(type='TemperatureTuningHook', mode='search', num_images=700,
         grid=(0.8, 2.0, 0.02)),
]
