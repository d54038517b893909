"""Convert a CroCo / CroCo v2 checkpoint for ``RoPEVisionTransformer``.

    python tools/convert_croco.py CroCo_V2_ViTBase_BaseDecoder.pth \
        checkpoints/crocov2_vitb16_rope.pth

The output holds ``state_dict`` (encoder, our key names, no prefix: load it
with ``init_cfg=dict(type='Pretrained', checkpoint=DST)``),
``decoder_state_dict`` (CroCo's decoder, kept for the flow task) and ``meta``.
It loads with ``torch.load(weights_only=True)``.
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from winwin_mm.utils.croco import (add_unit_temperatures,  # noqa: E402
                                   croco_encoder_arch, load_croco_checkpoint,
                                   split_croco_state_dict)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='CroCo checkpoint (.pth)')
    parser.add_argument('dst', help='output file')
    parser.add_argument('--num-heads', type=int, default=None,
                        help='encoder heads, when the checkpoint has no '
                        'croco_kwargs (ViT-B: 12, ViT-L: 16)')
    args = parser.parse_args()
    if not osp.isfile(args.src):
        sys.exit(f'error: {args.src} does not exist')
    try:
        ckpt = load_croco_checkpoint(args.src)
        encoder, decoder = split_croco_state_dict(ckpt)
    except (KeyError, ValueError) as e:
        sys.exit(f'error: {args.src}: {e}')
    arch = croco_encoder_arch(ckpt, encoder)
    if args.num_heads is not None:
        arch['num_heads'] = args.num_heads
    if 'num_heads' not in arch:
        arch['num_heads'] = {768: 12, 1024: 16, 384: 6}.get(arch['embed_dims'])
        if arch['num_heads'] is None:
            sys.exit('error: cannot tell the number of heads; pass '
                     '--num-heads')
    add_unit_temperatures(encoder, arch['num_heads'])
    kwargs = ckpt.get('croco_kwargs') or {}
    kwargs = vars(kwargs) if isinstance(kwargs, argparse.Namespace) else kwargs
    meta = dict(source=osp.abspath(args.src), backbone=arch,
                croco_kwargs={k: v for k, v in dict(kwargs).items()
                              if isinstance(v, (int, float, str, bool))})
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=encoder, decoder_state_dict=decoder,
                    meta=meta), args.dst)
    print(f'encoder: {len(encoder)} tensors -> {args.dst}')
    print(f'decoder (kept for flow): {len(decoder)} tensors')
    print('backbone: type=RoPEVisionTransformer, arch=None, ' +
          ', '.join(f'{k}={v}' for k, v in arch.items()))


if __name__ == '__main__':
    main()
