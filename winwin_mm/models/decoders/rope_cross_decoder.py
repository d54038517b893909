"""CroCo-Flow's binocular decoder on window tokens with true positions."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.registry import MODELS
from torch import Tensor

from ...structures import TokenLayout
from ..layers import RoPECrossBlock, rope_2d_tables
from ..layers.rope import activation_dtype
from ..utils import TemperatureMixin


@MODELS.register_module()
class RoPECrossDecoder(TemperatureMixin, BaseModule):
    """Frame-1 tokens attend to themselves and to the frame-2 tokens.

    ``decoder_embed`` projects both frames' encoder tokens to
    ``embed_dims``; each :class:`RoPECrossBlock` runs self-attention on the
    frame-1 tokens, cross-attention from them to ``norm_y(frame-2 tokens)``
    and an MLP. RoPE rotates queries with frame-1 positions and keys with
    frame-2 positions, so with windows every frame-1 window token attends to
    every frame-2 window token of its pair at their true offsets. Both
    attentions carry a per-head temperature (``temperature_modules``).

    Args:
        in_channels: encoder width.
        embed_dims: decoder width (CroCo v2 Base decoder: 768).
        num_layers: decoder blocks (Base: 12; Small: 8).
        num_heads: heads of both attentions (Base: 12; Small: 16).
        mlp_ratio: MLP hidden size / embed_dims.
        qkv_bias: bias in the q/k/v projections.
        drop_rate: dropout after projections.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        norm_cfg: norm layers (CroCo: LN, eps 1e-6).
        act_cfg: MLP activation.
        out_indices: blocks whose outputs are returned (negative = from
            the end); CroCo-Flow's DPT reads the last three of a Base
            decoder's hooks, e.g. ``(3, 7, 11)``.
        final_norm: normalise the last block's output (only that one, as the
            backbone's ``final_norm``).
        with_cp: activation checkpointing per block.
        rope_base: RoPE frequency base (CroCo: 100).
        fused_attn: SDPA attention (False: explicit softmax, for checks).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` with a file
            written by ``tools/convert_croco.py`` from a CroCo v2
            checkpoint loads its decoder (see :meth:`init_weights`); any
            other config is mmengine initialisers applied after the default
            truncated-normal(0.02) init (CroCo from scratch: ``dict(
            type='Xavier', layer='Linear', distribution='uniform')``).
    """

    def __init__(self,
                 in_channels: int = 768,
                 embed_dims: int = 768,
                 num_layers: int = 12,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 out_indices: Union[int, Sequence[int]] = -1,
                 final_norm: bool = True,
                 with_cp: bool = False,
                 rope_base: float = 100.,
                 fused_attn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.rope_base = rope_base
        self.with_cp = with_cp
        self.final_norm = final_norm
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = [i % num_layers for i in out_indices]
        self.decoder_embed = nn.Linear(in_channels, embed_dims)
        dpr = [drop_path_rate * i / max(num_layers - 1, 1)
               for i in range(num_layers)]
        self.blocks = nn.ModuleList([
            RoPECrossBlock(embed_dims, num_heads, mlp_ratio, qkv_bias,
                           drop_rate, attn_drop_rate, dpr[i], norm_cfg,
                           act_cfg, fused_attn)
            for i in range(num_layers)
        ])
        if final_norm:
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def init_weights(self) -> None:
        """Pretrained: the converted file's CroCo decoder
        (``decoder_state_dict``, CroCo names) or a full flow-model
        ``state_dict`` (``decoder.*``), loaded strictly. mmengine's
        ``PretrainedInit`` cannot pick a sub-dict of a file, hence this."""
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    trunc_normal_(m.weight, std=.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.LayerNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            if self.init_cfg is not None:
                # mmengine initialisers on top of the default (CroCo
                # trains from scratch with Xavier-uniform linears).
                super().init_weights()
            return
        from ...utils.croco import decoder_weights_from_file
        path = self.init_cfg.get('checkpoint')
        if not path or not osp.isfile(path):
            raise FileNotFoundError(
                f'RoPECrossDecoder init_cfg checkpoint {path!r} does not '
                'exist; write it with: python tools/convert_croco.py '
                'CroCo_V2_ViTBase_BaseDecoder.pth checkpoints/'
                'crocov2_vitb16_rope.pth')
        state = decoder_weights_from_file(path, self.num_heads)
        self.load_state_dict(state, strict=True)
        print_log(f'RoPECrossDecoder: loaded {len(state)} tensors from '
                  f'{path}', logger='current')
        self._is_init = True

    def temperature_modules(self) -> Dict[str, nn.Module]:
        """``{'blocks.i.attn': ..., 'blocks.i.cross_attn': ...}`` per block,
        self-attention first."""
        out = {}
        for i, block in enumerate(self.blocks):
            out[f'blocks.{i}.attn'] = block.attn
            out[f'blocks.{i}.cross_attn'] = block.cross_attn
        return out

    def forward(self, x1: Tensor, x2: Tensor, layout1: TokenLayout,
                layout2: TokenLayout) -> List[Tensor]:
        """
        Args:
            x1: ``(B, N1, C_in)`` frame-1 encoder tokens.
            x2: ``(B, N2, C_in)`` frame-2 encoder tokens.
            layout1, layout2: their positions / padding masks (from the
                backbone's ``forward_tokens``).

        Returns:
            One ``(B, N1, embed_dims)`` tensor per out index (the last
            block's through the final norm).
        """
        head_dim = self.embed_dims // self.num_heads
        x = self.decoder_embed(x1)  # B, N1, C
        dtype = activation_dtype(x)  # tables in the AMP dtype
        rope1 = rope_2d_tables(layout1.positions, head_dim, self.rope_base,
                               dtype)
        rope2 = rope_2d_tables(layout2.positions, head_dim, self.rope_base,
                               dtype)
        y = self.decoder_embed(x2)  # B, N2, C
        outs = []
        for i, block in enumerate(self.blocks):
            args = (x, y, rope1, rope2, layout1.mask, layout2.mask)
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(block, *args, use_reentrant=False)
            else:
                x = block(*args)  # B, N1, C
            if i in self.out_indices:
                out = x
                if i == self.num_layers - 1 and self.final_norm:
                    out = self.norm(out)
                outs.append(out)
        return outs
