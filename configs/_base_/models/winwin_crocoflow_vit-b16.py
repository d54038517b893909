# CroCo-Flow with Win-Win (paper §3 "binocular tasks", Appendix B, F.2):
# ViT-B/16 RoPE encoder shared by both frames + CroCo v2 Base decoder
# (768 dims, 12 blocks, 12 heads) + CroCo's DPT head regressing (u, v, c).
# DPT hooks [11, 15, 19, 23] = last encoder block + decoder blocks 3, 7, 11.
model = dict(
    type='WinWinFlowEstimator',
    data_preprocessor=dict(type='FlowDataPreProcessor', size_divisor=16),
    backbone=dict(
        type='RoPEVisionTransformer',
        arch='b',
        patch_size=16,
        out_indices=(11, ),
        drop_path_rate=0.,
        # Written by: python tools/convert_croco.py \
        #   CroCo_V2_ViTBase_BaseDecoder.pth checkpoints/crocov2_vitb16_rope.pth
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/crocov2_vitb16_rope.pth')),
    decoder=dict(
        type='RoPECrossDecoder',
        in_channels=768,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        out_indices=(3, 7, 11),
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/crocov2_vitb16_rope.pth')),
    decode_head=dict(
        type='WinDPTHead',
        in_channels=[768, 768, 768, 768],
        channels=256,
        layer_dims=(96, 192, 384, 768),
        last_dim=32,
        num_classes=3,
        out_channels=3,
        loss_decode=dict(type='LaplacianFlowLoss')),
    train_cfg=dict(),
    # One pass over the whole frames; CroCo-Flow's tiling baseline:
    # test_cfg=dict(mode='tile', crop_size=(320, 384), overlap=0.9)
    test_cfg=dict(mode='whole'))
