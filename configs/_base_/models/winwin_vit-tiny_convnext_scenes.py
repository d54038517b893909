# The CPU ablations' model: a small RoPE ViT (128 dims, 4 blocks, 4 heads,
# patch 16) from scratch, with the paper's ConvNeXt head (1 block, 64
# channels at stride 4), 9 classes of the generated street scenes.
_base_ = ['./winwin_vit-b16_convnext.py']
model = dict(
    backbone=dict(arch=None, embed_dims=128, num_layers=4, num_heads=4,
                  out_indices=(3, ), drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(in_channels=128, channels=64, num_convs=1,
                     num_classes=9))
