# vitb_2win22-cosine_bdd.py with the temperature correction of the RoPE
# model kept: after training, TemperatureTuningHook (inherited from
# vitb_2win22_bdd.py: search on 700 full-resolution training images, grid
# step 0.02) tunes the attention temperature. The paper reports that the
# correction 'did not help either in this setting (-7% mIoU)' (section 4.1,
# no table).
_base_ = ['./vitb_2win22_bdd.py']
model = dict(backbone=dict(pos_embed='cosine'))
