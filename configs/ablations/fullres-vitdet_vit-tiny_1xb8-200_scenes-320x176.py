# ViTDet-style baseline (paper Table 2 left, 'Full-res. ViT-Det'): full
# resolution training as fullres_*, with window attention (4x4 tokens, the
# 20x11 grid padded to 20x12) in blocks 0 and 2 and global attention in
# blocks 1 and 3 (ViTDet: 14x14 windows, 4 global blocks of 12). Test:
# the same attention, whole image.
_base_ = ['./fullres_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(backbone=dict(window_attn_size=4, global_attn_indexes=(1, 3)))
