"""Checkpoint conversion logic: CroCo / CroCo v2 / CroCo-Flow -> winwin_mm.

The one module behind the command-line converters in
``tools/model_converters/``: read the checkpoint with the safe loader, split
it into encoder / decoder / DPT head and map every key onto our names.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

# Pretraining-only entries (masked-image head, mask token, fixed
# positional tables) with no counterpart in a RoPE fine-tuning model.
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


def split_croco_state_dict(ckpt: dict, with_head: bool = False):
    """Encoder weights in ``RoPEVisionTransformer`` key names, and the
    decoder weights in CroCo's own names.

    Args:
        ckpt: a CroCo checkpoint (state dict under ``'model'``) or a bare
            state dict.
        with_head: also return the downstream head's weights (CroCo-Flow's
            ``head.*``, CroCo names); otherwise they are refused.

    Returns:
        ``(encoder, decoder)``, or ``(encoder, decoder, head)``.
    """
    state = ckpt.get('model', ckpt)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if not any(k.startswith('enc_blocks.') for k in state):
        raise KeyError('no "enc_blocks.*" keys found: this is not a CroCo '
                       'checkpoint (expected the state dict under "model")')
    encoder, decoder, head = OrderedDict(), OrderedDict(), OrderedDict()
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
        elif with_head and key.startswith('head.'):
            head[key] = value
        else:
            raise KeyError(f'unexpected key {key!r} in the CroCo checkpoint')
    return (encoder, decoder, head) if with_head else (encoder, decoder)


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


def convert_croco_decoder(decoder: Dict[str, torch.Tensor],
                          num_heads: int) -> Dict[str, torch.Tensor]:
    """CroCo decoder weights -> ``RoPECrossDecoder`` names (``dec_blocks.i``
    -> ``blocks.i``, ``dec_norm`` -> ``norm``), with neutral temperatures
    for both attentions of every block."""
    out = OrderedDict()
    for key, value in decoder.items():
        if key.startswith('dec_blocks.'):
            out['blocks.' + key[len('dec_blocks.'):]] = value
        elif key.startswith('dec_norm.'):
            out['norm.' + key[len('dec_norm.'):]] = value
        elif key.startswith('decoder_embed.'):
            out[key] = value
        else:
            raise KeyError(f'unexpected CroCo decoder key {key!r}')
    blocks = {int(k.split('.')[1]) for k in out if k.startswith('blocks.')}
    for i in sorted(blocks):
        for attn in ('attn', 'cross_attn'):
            out[f'blocks.{i}.{attn}.temperature'] = torch.ones(num_heads)
    return out


def decoder_weights_from_file(path: str,
                              num_heads: int) -> Dict[str, torch.Tensor]:
    """``RoPECrossDecoder`` weights from a ``tools/convert_croco.py`` output:
    its ``decoder_state_dict`` (CroCo v2 pretrained, CroCo names) or the
    ``decoder.*`` part of a converted flow model's ``state_dict``."""
    ckpt = load_croco_checkpoint(path)
    if 'decoder_state_dict' in ckpt:
        return convert_croco_decoder(ckpt['decoder_state_dict'], num_heads)
    state = ckpt.get('state_dict', ckpt)
    out = OrderedDict((k[len('decoder.'):], v) for k, v in state.items()
                      if k.startswith('decoder.'))
    if not out:
        raise KeyError(f'{path}: no decoder weights (neither '
                       '"decoder_state_dict" nor "decoder.*" keys); convert '
                       'a CroCo v2 or CroCo-Flow checkpoint with '
                       'tools/convert_croco.py')
    return out


def croco_args(ckpt: dict) -> dict:
    """Model kwargs of a CroCo (``croco_kwargs``) or CroCo-Flow
    (``args.croco_args``) checkpoint, as a plain dict (may be empty)."""
    kwargs = ckpt.get('croco_kwargs')
    if kwargs is None and 'args' in ckpt:
        args = ckpt['args']
        args = vars(args) if isinstance(args, argparse.Namespace) else args
        kwargs = (args or {}).get('croco_args')
    if isinstance(kwargs, argparse.Namespace):
        kwargs = vars(kwargs)
    return dict(kwargs or {})


def _heads(kwargs: dict, key: str, dims: int,
           override: Optional[int]) -> int:
    if override is not None:
        return override
    if key in kwargs:
        return int(kwargs[key])
    heads = {384: 6, 512: 16, 768: 12, 1024: 16}.get(dims)
    if heads is None:
        raise ValueError(f'cannot tell the number of heads ({key}) of a '
                         f'{dims}-dim model; pass it explicitly')
    return heads


def convert_croco_flow(ckpt: dict, enc_heads: Optional[int] = None,
                       dec_heads: Optional[int] = None
                       ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """A CroCo-Flow checkpoint -> a ``WinWinFlowEstimator`` state dict.

    Args:
        ckpt: ``model`` = encoder, decoder and ``head.dpt.*`` weights;
            ``args`` = the training Namespace with ``croco_args``.
        enc_heads, dec_heads: head counts when ``croco_args`` lacks them.

    Returns:
        The state dict (``backbone.*``, ``decoder.*``, ``decode_head.*``;
        loads with ``strict=True``) and the architecture it implies.
    """
    encoder, decoder, head = split_croco_state_dict(ckpt, with_head=True)
    if not decoder or not head:
        raise KeyError('a CroCo-Flow checkpoint needs decoder ("dec_blocks.*")'
                       ' and head ("head.dpt.*") weights')
    kwargs = croco_args(ckpt)
    arch = croco_encoder_arch(ckpt, encoder)
    arch['num_heads'] = _heads(kwargs, 'enc_num_heads', arch['embed_dims'],
                               enc_heads)
    dec_dims = int(decoder['decoder_embed.weight'].shape[0])
    dec_depth = 1 + max(int(k.split('.')[1]) for k in decoder
                        if k.startswith('dec_blocks.'))
    dec_arch = dict(embed_dims=dec_dims, num_layers=dec_depth,
                    num_heads=_heads(kwargs, 'dec_num_heads', dec_dims,
                                     dec_heads))
    add_unit_temperatures(encoder, arch['num_heads'])
    state = OrderedDict()
    state.update(('backbone.' + k, v) for k, v in encoder.items())
    state.update(('decoder.' + k, v) for k, v in convert_croco_decoder(
        decoder, dec_arch['num_heads']).items())
    state.update(('decode_head.' + k, v)
                 for k, v in convert_croco_dpt_state_dict(head).items())
    return state, dict(backbone=arch, decoder=dec_arch,
                       dpt_hooks=croco_dpt_hooks(arch['num_layers'],
                                                 dec_depth))


def croco_dpt_hooks(enc_depth: int, dec_depth: int) -> list:
    """CroCo-Flow's DPT hooks into "encoder blocks then decoder blocks":
    step {8: 3, 12: 4, 24: 8}[dec_depth], else the last four blocks."""
    step = {8: 3, 12: 4, 24: 8}.get(dec_depth, 1)
    return [enc_depth + dec_depth - 1 - i * step for i in (3, 2, 1, 0)]


def croco_dpt_key_map() -> Dict[str, Optional[str]]:
    """Module-prefix map from CroCo's ``DPTOutputAdapter`` to WinDPTHead.

    Keys are relative to the adapter (CroCo-Flow stores them under
    ``head.dpt.``). CroCo registers each reassembly and ``layer_rn`` conv
    twice (``act_{i}_postprocess`` and ``act_postprocess.{i-1}``;
    ``scratch.layer{i}_rn`` and ``scratch.layer_rn.{i-1}``): both aliases map
    to the same target. ``None`` marks weights that are dropped:
    ``refinenet4.resConfUnit1`` is never used by CroCo's forward.

    Returns:
        dict[str, str | None]: CroCo prefix -> WinDPTHead prefix.
    """
    key_map: Dict[str, Optional[str]] = {}
    for i in range(4):
        for j, part in ((0, 'proj'), (1, 'resample')):
            target = f'reassemble.{i}.{part}'
            key_map[f'act_postprocess.{i}.{j}'] = target
            key_map[f'act_{i + 1}_postprocess.{j}'] = target
        key_map[f'scratch.layer{i + 1}_rn'] = f'feature_projs.{i}'
        key_map[f'scratch.layer_rn.{i}'] = f'feature_projs.{i}'
        refine = f'scratch.refinenet{i + 1}'
        key_map[f'{refine}.resConfUnit1'] = (
            f'fusions.{i}.skip_unit' if i < 3 else None)
        key_map[f'{refine}.resConfUnit2'] = f'fusions.{i}.path_unit'
        key_map[f'{refine}.out_conv'] = f'fusions.{i}.out_conv'
    key_map['head.0'] = 'head_conv1'
    key_map['head.2'] = 'head_conv2'
    key_map['head.4'] = 'conv_seg'
    return key_map


def convert_croco_dpt_state_dict(state_dict: Dict[str, Tensor],
                                 prefix: str = 'head.dpt.'
                                 ) -> Dict[str, Tensor]:
    """Rename the DPT weights of a CroCo(-Flow) state dict for WinDPTHead.

    Args:
        state_dict (dict[str, Tensor]): Full or head-only CroCo state dict;
            only keys starting with ``prefix`` are read.
        prefix (str): Where the adapter lives. Defaults to ``'head.dpt.'``.

    Returns:
        dict[str, Tensor]: Loads into ``WinDPTHead`` with ``strict=True``.

    Raises:
        KeyError: A key under ``prefix`` that the map does not know.
        ValueError: Two aliases of one weight hold different values.
    """
    key_map = croco_dpt_key_map()
    out: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].split('.')
        # Longest mapped module prefix, e.g. 'scratch.refinenet1.out_conv'.
        for n in range(len(parts) - 1, 0, -1):
            module = '.'.join(parts[:n])
            if module in key_map:
                break
        else:
            raise KeyError(f'unknown CroCo DPT key {key!r}')
        if key_map[module] is None:
            continue
        new_key = '.'.join([key_map[module]] + parts[n:])
        if new_key in out and not torch.equal(out[new_key], value):
            raise ValueError(f'aliases of {new_key!r} differ ({key!r})')
        out[new_key] = value
    return out
