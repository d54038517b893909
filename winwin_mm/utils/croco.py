"""Read CroCo / CroCo v2 checkpoints and map them onto our key names."""
import argparse
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch

# Pretraining-only entries with no counterpart here (DESIGN.md §3).
_DROPPED = ('mask_token', 'prediction_head.', 'enc_pos_embed', 'dec_pos_embed')
_DECODER = ('decoder_embed.', 'dec_blocks.', 'dec_norm.')


def load_croco_checkpoint(path: str) -> dict:
    """``torch.load`` with the safe loader.

    Some released CroCo checkpoints pickle their training ``argparse``
    Namespace; it is allowed explicitly instead of turning the safe loader off.
    """
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: expected a dict checkpoint, got '
                         f'{type(ckpt).__name__}')
    return ckpt


def split_croco_state_dict(ckpt: dict) -> Tuple[Dict[str, torch.Tensor],
                                                Dict[str, torch.Tensor]]:
    """Encoder weights in ``RoPEVisionTransformer`` key names, and the
    decoder weights in CroCo's own names (kept for the flow task).

    Args:
        ckpt: a CroCo checkpoint (state dict under ``'model'``) or a bare
            state dict.
    """
    state = ckpt.get('model', ckpt)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if not any(k.startswith('enc_blocks.') for k in state):
        raise KeyError('no "enc_blocks.*" keys found: this is not a CroCo '
                       'checkpoint (expected the state dict under "model")')
    encoder, decoder = OrderedDict(), OrderedDict()
    for key, value in state.items():
        if key.startswith(_DROPPED):
            continue
        if key.startswith(_DECODER):
            decoder[key] = value
        elif key.startswith('patch_embed.'):
            encoder[key] = value
        elif key.startswith('enc_blocks.'):
            encoder['layers.' + key[len('enc_blocks.'):]] = value
        elif key.startswith('enc_norm.'):
            encoder['norm.' + key[len('enc_norm.'):]] = value
        else:
            raise KeyError(f'unexpected key {key!r} in the CroCo checkpoint')
    return encoder, decoder


def croco_encoder_arch(ckpt: dict, encoder: Dict[str, torch.Tensor]) -> dict:
    """Backbone arguments matching the converted weights."""
    kwargs = ckpt.get('croco_kwargs', {}) or {}
    if isinstance(kwargs, argparse.Namespace):
        kwargs = vars(kwargs)
    num_layers = 1 + max(int(k.split('.')[1]) for k in encoder
                         if k.startswith('layers.'))
    embed_dims = encoder['patch_embed.proj.weight'].shape[0]
    arch = dict(embed_dims=int(embed_dims), num_layers=num_layers,
                patch_size=int(encoder['patch_embed.proj.weight'].shape[-1]))
    if 'enc_num_heads' in kwargs:
        arch['num_heads'] = int(kwargs['enc_num_heads'])
    return arch


def add_unit_temperatures(encoder: Dict[str, torch.Tensor],
                          num_heads: int) -> None:
    """CroCo has no temperature; store the neutral 1.0 so that loading the
    converted file reports no missing keys."""
    layers = {int(k.split('.')[1]) for k in encoder if k.startswith('layers.')}
    for i in sorted(layers):
        encoder[f'layers.{i}.attn.temperature'] = torch.ones(num_heads)
