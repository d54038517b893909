# Positional-embedding baseline (paper section 4.1, 'Impact of positional
# embeddings'): the Win-Win default (2 windows of 5x5 tokens) with fixed
# 2-D sin-cos absolute positional embeddings (pos_embed='cosine') instead of
# RoPE. The inherited hook tunes the temperature after training;
# tools/ablation.py trains without it and reports the model at T = 1 (no
# correction) and after tools/tune_temperature.py (with correction).
_base_ = ['./winwin-2win5_vit-tiny_1xb8-200_scenes-320x176.py']
model = dict(backbone=dict(pos_embed='cosine'))
