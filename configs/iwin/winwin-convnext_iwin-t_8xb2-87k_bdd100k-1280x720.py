# Iwin-T with the ConvNeXt head, trained on 2 random 352x352-pixel windows
# per 1280x720 image (the paper's 22x22 tokens of 16 px), the whole image in
# one forward pass at test time. Same data and schedule as
# configs/winwin/vitb_2win22_bdd.py; only the backbone (and the head's
# input) change.
#
# The windows are trained as independent crops (window_mode='crops'): the
# two windows of an image do not interact, so this is '2 random crops per
# image', not the paper's Win-Win (whose windows attend to each other).
# winwin-shared-convnext_iwin-t_8xb2-87k_bdd100k-1280x720.py shares the
# forward pass of an image's windows (docs/iwin.md). Window sides that are
# multiples of 32 px (352 = 11 x 32) keep every stage aligned.
_base_ = [
    '../_base_/models/winwin_vit-b16_convnext.py',
    '../_base_/datasets/bdd100k_winwin.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_ld075_cosine_87k.py',
]
# Checkpoint hook (SafeCheckpointHook) from the runtime; its schedule here.
default_hooks = dict(checkpoint=dict(interval=8750, max_keep_ckpts=3))

# Official Iwin-T ImageNet-1k checkpoint; see docs/iwin.md.
checkpoint_file = 'checkpoints/iwin_tiny_patch4_window7_224.pth'
# Iwin's stage maps align with the pixels at multiples of 32 px: 720-pixel
# test images are padded to 736 (and cropped back in the prediction).
data_preprocessor = dict(size_divisor=32, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='IwinTransformer',
        arch='t',
        window_size=16,
        window_mode='crops',
        drop_path_rate=0.2,
        # The stride-32 map only: every backbone parameter is used (no
        # unused-parameter trouble under DDP).
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    # 768 channels at stride 32 -> 8x8 sub-pixels of 96 channels = stride 4
    # (the same 6144-wide projection as the ViT-B head's 384 x 4 x 4).
    decode_head=dict(in_channels=768, channels=96, upsample_factor=8))
