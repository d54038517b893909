# Win-Win segmentor: RoPE ViT-B/16 (CroCo v2 weights) + ConvNeXt head.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet mean/std on [0, 255] images (= on [0, 1]), as CroCo.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # Batches are padded to the patch grid (1280x720 needs none); so are
    # test images of any size (e.g. 375x500 -> 384x512). The model crops
    # the padding off its prediction (padding_size in the metainfo).
    size_divisor=16,
    test_cfg=dict(size_divisor=16))
model = dict(
    type='WinWinEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='RoPEVisionTransformer',
        arch='b',
        patch_size=16,
        out_indices=(11, ),
        drop_path_rate=0.1,
        final_norm=True,
        # Written by: python tools/convert_croco.py \
        #     CroCo_V2_ViTBase_BaseDecoder.pth checkpoints/crocov2_vitb16_rope.pth
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/crocov2_vitb16_rope.pth')),
    decode_head=dict(
        type='ConvNeXtHead',
        in_channels=768,
        channels=384,
        num_convs=4,
        num_classes=19,
        dropout_ratio=0.0,
        align_corners=False,
        # Labels of windows smaller than the largest in a batch are padded
        # with the ignore index: average over labelled pixels only.
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                         loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    # Full resolution, one forward pass. Tiling baseline:
    # test_cfg=dict(mode='slide', crop_size=(352, 352), stride=(176, 176))
    test_cfg=dict(mode='whole'))
