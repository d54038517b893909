"""Convert a CroCo / CroCo v2 / CroCo-Flow checkpoint for winwin_mm.

    python tools/model_converters/croco2winwin.py SRC DST
    python tools/convert_croco.py SRC DST          # the same tool

CroCo v2 pretrained (``croco_kwargs``, encoder + decoder): DST holds
``state_dict`` (the encoder in ``RoPEVisionTransformer`` key names, no
prefix: ``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST)``),
``decoder_state_dict`` (the decoder, CroCo names:
``decoder.init_cfg=dict(type='Pretrained', checkpoint=DST)`` of a
``RoPECrossDecoder`` reads it) and ``meta``.

CroCo-Flow (``crocoflow*.pth``: ``model`` with ``head.dpt.*``, ``args`` a
pickled Namespace): DST holds ``state_dict`` with ``backbone.*``,
``decoder.*`` and ``decode_head.*`` keys that load with ``strict=True`` into
``WinWinFlowEstimator`` (``load_from = DST`` in a flow config).

Both outputs load with ``torch.load(weights_only=True)``; the logic lives in
``winwin_mm/utils/croco.py``.
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from winwin_mm.utils.croco import (add_unit_temperatures,  # noqa: E402
                                   convert_croco_flow, croco_args,
                                   croco_encoder_arch, load_croco_checkpoint,
                                   split_croco_state_dict)


def _plain(d: dict) -> dict:
    return {k: v for k, v in d.items()
            if isinstance(v, (int, float, str, bool))}


def convert_pretrained(ckpt: dict, args: argparse.Namespace) -> dict:
    """CroCo / CroCo v2 pretraining checkpoint -> backbone + decoder."""
    encoder, decoder = split_croco_state_dict(ckpt)
    arch = croco_encoder_arch(ckpt, encoder)
    if args.num_heads is not None:
        arch['num_heads'] = args.num_heads
    if 'num_heads' not in arch:
        arch['num_heads'] = {768: 12, 1024: 16, 384: 6}.get(arch['embed_dims'])
        if arch['num_heads'] is None:
            sys.exit('error: cannot tell the number of heads; pass '
                     '--num-heads')
    add_unit_temperatures(encoder, arch['num_heads'])
    meta = dict(source=osp.abspath(args.src), backbone=arch,
                croco_kwargs=_plain(croco_args(ckpt)))
    print(f'encoder: {len(encoder)} tensors')
    print(f'decoder (for RoPECrossDecoder): {len(decoder)} tensors')
    print('backbone: type=RoPEVisionTransformer, arch=None, ' +
          ', '.join(f'{k}={v}' for k, v in arch.items()))
    return dict(state_dict=encoder, decoder_state_dict=decoder, meta=meta)


def convert_flow(ckpt: dict, args: argparse.Namespace) -> dict:
    """CroCo-Flow checkpoint -> a full WinWinFlowEstimator state dict."""
    state, arch = convert_croco_flow(ckpt, args.num_heads, args.dec_num_heads)
    enc_depth = arch['backbone']['num_layers']
    hooks = arch['dpt_hooks']
    meta = dict(source=osp.abspath(args.src), task='flow', **arch,
                croco_args=_plain(croco_args(ckpt)))
    print(f'flow model: {len(state)} tensors (backbone.*, decoder.*, '
          'decode_head.*)')
    print('backbone: ' + ', '.join(
        f'{k}={v}' for k, v in arch['backbone'].items()) +
          f', out_indices={[h for h in hooks if h < enc_depth]}')
    print('decoder: ' + ', '.join(
        f'{k}={v}' for k, v in arch['decoder'].items()) +
          f', out_indices={[h - enc_depth for h in hooks if h >= enc_depth]}')
    return dict(state_dict=state, meta=meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='CroCo checkpoint (.pth)')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--num-heads', type=int, default=None,
                        help='encoder heads, when the checkpoint does not '
                        'say (ViT-B: 12, ViT-L: 16)')
    parser.add_argument('--dec-num-heads', type=int, default=None,
                        help='decoder heads of a CroCo-Flow checkpoint, '
                        'when its args do not say')
    args = parser.parse_args()
    if not osp.isfile(args.src):
        sys.exit(f'error: {args.src} does not exist')
    try:
        ckpt = load_croco_checkpoint(args.src)
        state = ckpt.get('model', ckpt)
        is_flow = any(k.startswith(('head.', 'module.head.')) for k in state)
        out = (convert_flow if is_flow else convert_pretrained)(ckpt, args)
    except (KeyError, ValueError) as e:
        sys.exit(f'error: {args.src}: {e}')
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(out, args.dst)
    print(f'-> {args.dst}')


if __name__ == '__main__':
    main()
