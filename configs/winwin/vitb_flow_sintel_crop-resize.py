# Baseline: the crop-trained model of vitb_flow_sintel_crop-tile.py (320x384
# crops, 20x24 tokens, no windows) tested with *resize*: each Sintel frame
# resized to 320x384, one forward pass, the flow resized back to the frame
# and its vectors scaled (paper Table 4 right, "Crop / resize"). Training is
# that of the crop-tile config; only the test mode differs.
#
#   python tools/test.py configs/winwin/vitb_flow_sintel_crop-resize.py \
#       work_dirs/vitb_flow_sintel_crop-tile/iter_100000.pth
_base_ = ['./vitb_flow_sintel_crop-tile.py']

model = dict(test_cfg=dict(_delete_=True, mode='resize',
                           crop_size={{_base_.crop_size}}))
