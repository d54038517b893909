# Positional-embedding baseline of vitb_2win22_bdd.py (paper section 4.1,
# 'Impact of positional embeddings'): the same Win-Win training (2 windows
# of 22x22 tokens, ConvNeXt head) with fixed 2-D sin-cos absolute positional
# embeddings added to the tokens (pos_embed='cosine') instead of RoPE, and
# no temperature correction (temperature 1 at test). Paper: 57.0 mIoU (vs
# 63.6 with RoPE). The paper starts from a model pre-trained with such
# embeddings; the CroCo v2 checkpoint of the base config was pre-trained
# with RoPE (its weights load, the positional term differs): point
# init_cfg to a cosine-pretrained encoder for the paper's setting.
_base_ = ['./vitb_2win22_bdd.py']
model = dict(backbone=dict(pos_embed='cosine'))
# No temperature correction: see vitb_2win22-cosine-tuned-T_bdd.py.
custom_hooks = []
