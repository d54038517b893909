"""Binocular decoder block (CroCo decoder layout): self-attention on the
frame-1 tokens, cross-attention to the (normalised) frame-2 tokens, MLP."""
from typing import Optional, Tuple, Type

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor

from .attention import RoPEAttention, RoPECrossAttention
from .transformer_block import Mlp

RopeTables = Tuple[Tensor, Tensor]


class RoPECrossBlock(nn.Module):
    """``x += DP(SelfAttn(norm1(x)))``; ``x += DP(CrossAttn(norm2(x),
    norm_y(y)))``; ``x += DP(MLP(norm3(x)))``. Frame 2 (``y``) is read, not
    updated: every block attends to the same frame-2 tokens.

    Key names follow CroCo's decoder (``norm1, attn.qkv, attn.proj,
    cross_attn.{projq,projk,projv,proj}, norm2, norm3, mlp.fc1, mlp.fc2,
    norm_y``) so converted weights load as they are.

    Args:
        embed_dims: token channels.
        num_heads: heads of both attentions.
        mlp_ratio: MLP hidden size / embed_dims.
        qkv_bias: bias in the q/k/v projections.
        drop_rate: dropout after projections.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth probability of this block.
        norm_cfg: norm layer config (CroCo: LN, eps 1e-6).
        act_cfg: MLP activation config.
        fused_attn: attention through ``F.scaled_dot_product_attention``.
        attn_layer: the self-attention class.
        cross_attn_layer: the cross-attention class.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 mlp_ratio: float = 4., qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 fused_attn: bool = True,
                 attn_layer: Type[nn.Module] = RoPEAttention,
                 cross_attn_layer: Type[nn.Module] = RoPECrossAttention
                 ) -> None:
        super().__init__()
        kwargs = dict(qkv_bias=qkv_bias, attn_drop=attn_drop_rate,
                      proj_drop=drop_rate, fused=fused_attn)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = attn_layer(embed_dims, num_heads, **kwargs)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.cross_attn = cross_attn_layer(embed_dims, num_heads, **kwargs)
        self.norm_y = build_norm_layer(norm_cfg, embed_dims)[1]
        self.norm3 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), act_cfg,
                       drop_rate)
        self.drop_path = (DropPath(drop_path_rate) if drop_path_rate > 0
                          else nn.Identity())

    def forward(self, x: Tensor, y: Tensor, rope_x: RopeTables,
                rope_y: RopeTables, mask_x: Optional[Tensor] = None,
                mask_y: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x: ``(B, N1, C)`` frame-1 tokens.
            y: ``(B, N2, C)`` frame-2 tokens.
            rope_x, rope_y: RoPE tables of their positions.
            mask_x, mask_y: optional ``(B, N)`` bool, True = real token.

        Returns:
            ``(B, N1, C)`` updated frame-1 tokens.
        """
        x = x + self.drop_path(self.attn(self.norm1(x), rope_x, mask_x))
        y = self.norm_y(y)
        x = x + self.drop_path(
            self.cross_attn(self.norm2(x), y, rope_x, rope_y, mask_y))
        return x + self.drop_path(self.mlp(self.norm3(x)))
