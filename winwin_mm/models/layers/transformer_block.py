"""Pre-norm ViT block with RoPE attention (CroCo encoder block layout)."""
from typing import TYPE_CHECKING, Optional, Tuple, Type

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor

from .attention import RoPEAttention

if TYPE_CHECKING:
    from .window_attention import WindowAttentionPlan


class Mlp(nn.Module):
    """``fc2(drop(act(fc1(x))))`` with CroCo's key names ``fc1``/``fc2``.

    Args:
        embed_dims: input/output channels.
        hidden_dims: hidden channels.
        act_cfg: activation config for mmcv's ``build_activation_layer``.
        drop: dropout after each linear layer.
    """

    def __init__(self, embed_dims: int, hidden_dims: int,
                 act_cfg: dict = dict(type='GELU'), drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class RoPEBlock(nn.Module):
    """``x + DropPath(Attn(LN(x)))`` then ``x + DropPath(MLP(LN(x)))``.

    Args:
        embed_dims: token channels.
        num_heads: attention heads.
        mlp_ratio: MLP hidden size / embed_dims.
        qkv_bias: bias in the qkv projection.
        drop_rate: dropout after projections.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth probability of this block.
        norm_cfg: norm layer config (CroCo: LN, eps 1e-6).
        act_cfg: MLP activation config.
        fused_attn: attention through ``F.scaled_dot_product_attention``.
        attn_layer: the attention class (as timm's ``Block(attn_layer=...)``),
            built as ``attn_layer(embed_dims, num_heads, qkv_bias=...,
            attn_drop=..., proj_drop=..., fused=...)`` and called as
            ``attn(x, rope, key_padding_mask, **attn_kwargs)``.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 mlp_ratio: float = 4., qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 fused_attn: bool = True,
                 attn_layer: Type[nn.Module] = RoPEAttention) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = attn_layer(embed_dims, num_heads, qkv_bias=qkv_bias,
                               attn_drop=attn_drop_rate, proj_drop=drop_rate,
                               fused=fused_attn)
        self.drop_path = (DropPath(drop_path_rate) if drop_path_rate > 0
                          else nn.Identity())
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), act_cfg,
                       drop_rate)

    def forward(self, x: Tensor, rope: Tuple[Tensor, Tensor],
                key_padding_mask: Optional[Tensor] = None,
                window: Optional['WindowAttentionPlan'] = None,
                **attn_kwargs) -> Tensor:
        """``x``: ``(B, N, C)`` -> ``(B, N, C)``; ``attn_kwargs`` go to the
        attention (e.g. ``context``/``context_rope`` for cross-attention).
        With ``window`` (a ViTDet window plan) attention runs inside each
        window, with the plan's RoPE tables and no mask."""
        y = self.norm1(x)
        if window is None:
            y = self.attn(y, rope, key_padding_mask, **attn_kwargs)
        else:
            y = window.unpartition(
                self.attn(window.partition(y), window.rope), x.shape[0])
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))
