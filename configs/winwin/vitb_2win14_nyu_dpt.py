# vitb_2win14_nyu.py with the DPT head (CroCo-Flow's, in depth mode) on
# blocks 3, 6, 9 and 12 of the ViT-B instead of the ConvNeXt head.
_base_ = ['./vitb_2win14_nyu.py']

model = dict(
    backbone=dict(out_indices=(2, 5, 8, 11)),
    decode_head=dict(
        _delete_=True,
        type='WinDPTDepthHead',
        in_channels=[768] * 4,
        channels=256,
        layer_dims=(96, 192, 384, 768),
        last_dim=32,
        max_depth=10.0,
        align_corners=False,
        loss_decode=dict(type='SiLogLoss', loss_weight=1.0)))
