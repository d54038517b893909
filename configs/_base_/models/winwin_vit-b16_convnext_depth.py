# Win-Win depth estimator: the segmentation model base (RoPE ViT-B/16 from
# CroCo v2 through model.backbone.init_cfg, ConvNeXt head) with the head in
# depth-regression mode. Depth in metres, in (0, max_depth).
_base_ = ['./winwin_vit-b16_convnext.py']

# mmseg pads gt_depth_map with seg_pad_val: 0 = invalid depth.
data_preprocessor = dict(seg_pad_val=0)
model = dict(
    type='WinWinDepthEstimator',
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        type='ConvNeXtDepthHead',
        num_classes=1,
        max_depth=10.0,  # NYUv2, as mmseg's NYU configs (max_depth_eval)
        loss_decode=dict(_delete_=True, type='SiLogLoss', loss_weight=1.0)),
    # Full resolution, one forward pass. Tiling baseline:
    # test_cfg=dict(mode='slide', crop_size=(224, 224), stride=(128, 128))
    test_cfg=dict(mode='whole'))
