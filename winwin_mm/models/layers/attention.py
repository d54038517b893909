"""Multi-head attention with 2-D RoPE and a per-head softmax temperature."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .rope import apply_rope_2d


class RoPEAttention(nn.Module):
    """Self-attention ``softmax(m_h * (R q)(R k)^T / sqrt(D)) v`` per head h.

    ``m`` (the temperature multiplier, buffer ``temperature`` of shape
    ``(num_heads,)``, 1.0 = the default scale) is saved in checkpoints so a
    tuned model is evaluated with its tuned value. It is folded into the
    queries so that one ``F.scaled_dot_product_attention`` call handles
    per-head values; the manual path computes the same thing explicitly.

    Args:
        embed_dims: token channels C.
        num_heads: number of heads H (D = C / H).
        qkv_bias: bias in the fused qkv projection.
        attn_drop: dropout on attention weights (training only).
        proj_drop: dropout after the output projection.
        fused: use ``F.scaled_dot_product_attention`` (else the manual path).
    """

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.,
                 fused: bool = True) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}')
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused = fused
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.register_buffer('temperature', torch.ones(num_heads))

    def forward(self, x: Tensor, rope: Tuple[Tensor, Tensor],
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x: ``(B, N, C)`` tokens.
            rope: ``(cos, sin)`` tables ``(B, 1, N, D)``.
            key_padding_mask: optional ``(B, N)`` bool, True = real token;
                padded tokens are never attended to.

        Returns:
            ``(B, N, C)``.
        """
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each B, H, N, D
        q = apply_rope_2d(q, *rope)
        k = apply_rope_2d(k, *rope)
        q = q * self.temperature.to(q.dtype).view(1, -1, 1, 1)
        mask = None
        if key_padding_mask is not None:
            mask = key_padding_mask[:, None, None, :]  # B, 1, 1, N
        drop = self.attn_drop if self.training else 0.
        if self.fused:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=drop, scale=self.scale)
        else:
            logits = (q @ k.transpose(-2, -1)) * self.scale  # B, H, N, N
            if mask is not None:
                logits = logits.masked_fill(~mask, float('-inf'))
            attn = F.dropout(logits.softmax(dim=-1), drop, self.training)
            out = attn @ v  # B, H, N, D
        out = out.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out))
