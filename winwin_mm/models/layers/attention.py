"""Multi-head attention with 2-D RoPE and a per-head softmax temperature.

Two modules share one kernel (:func:`rope_attention`):

- :class:`RoPEAttention`: fused ``qkv`` projection (CroCo's ``attn.qkv``).
  Self-attention by default; with ``context`` the keys and values come from
  another token set (cross-attention with the same weights).
- :class:`RoPECrossAttention`: separate ``projq``/``projk``/``projv``
  (CroCo decoder's ``cross_attn``), queries from one frame, keys and values
  from the other.

Queries and keys are rotated with their *own* positions, so a query of frame
1 and a key of frame 2 see their true relative offset.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .rope import apply_rope_2d

RopeTables = Tuple[Tensor, Tensor]  # (cos, sin), each (B, 1, N, D)


def rope_attention(q: Tensor, k: Tensor, v: Tensor, rope_q: RopeTables,
                   rope_k: RopeTables, temperature: Tensor, scale: float,
                   key_padding_mask: Optional[Tensor] = None,
                   dropout_p: float = 0., fused: bool = True) -> Tensor:
    """``softmax(m_h * (R_q q)(R_k k)^T * scale) v`` per head h.

    The multiplier is folded into the queries so that one
    ``F.scaled_dot_product_attention`` call handles per-head values. Without
    a mask SDPA may pick its fused kernels; a mask is only built when some
    keys are padding (windows of unequal token counts).

    Args:
        q: ``(B, H, Nq, D)`` queries.
        k, v: ``(B, H, Nk, D)`` keys and values.
        rope_q: tables of the query positions, ``(B, 1, Nq, D)`` each.
        rope_k: tables of the key positions, ``(B, 1, Nk, D)`` each.
        temperature: ``(H,)`` multipliers (1.0 = the default scale).
        scale: the default logit scale (``D ** -0.5``).
        key_padding_mask: optional ``(B, Nk)`` bool, True = real key.
        dropout_p: attention dropout (pass 0 at eval).
        fused: SDPA (else the explicit softmax, for checks).

    Returns:
        ``(B, H, Nq, D)``.
    """
    q = apply_rope_2d(q, *rope_q)
    k = apply_rope_2d(k, *rope_k)
    q = q * temperature.to(q.dtype).view(1, -1, 1, 1)
    mask = None
    if key_padding_mask is not None:
        mask = key_padding_mask[:, None, None, :]  # B, 1, 1, Nk
    if fused:
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout_p, scale=scale)
    logits = (q @ k.transpose(-2, -1)) * scale  # B, H, Nq, Nk
    if mask is not None:
        logits = logits.masked_fill(~mask, float('-inf'))
    attn = F.dropout(logits.softmax(dim=-1), dropout_p, dropout_p > 0)
    return attn @ v  # B, H, Nq, D


class _TemperatureAttention(nn.Module):
    """Common state: heads, scale, dropout and the ``temperature`` buffer.

    ``temperature`` (shape ``(num_heads,)``, 1.0 = the default scale
    ``D^-0.5``) is a buffer so that it is saved in checkpoints and a tuned
    model is evaluated with its tuned value. Every module of this type is
    found by the model's ``temperature_modules()``.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float,
                 proj_drop: float, fused: bool) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}')
        self.num_heads = num_heads
        self.head_dim = embed_dims // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused = fused
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.register_buffer('temperature', torch.ones(num_heads))

    def _heads(self, x: Tensor) -> Tensor:
        """``(B, N, C) -> (B, H, N, D)``."""
        B, N, _ = x.shape
        return x.reshape(B, N, self.num_heads, self.head_dim).transpose(1, 2)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, rope_q: RopeTables,
                rope_k: RopeTables, mask: Optional[Tensor]) -> Tensor:
        """Heads ``(B, H, Nq, D)`` in, projected tokens ``(B, Nq, C)`` out."""
        drop = self.attn_drop if self.training else 0.
        out = rope_attention(q, k, v, rope_q, rope_k, self.temperature,
                             self.scale, mask, drop, self.fused)
        B, _, Nq, _ = out.shape
        out = out.transpose(1, 2).reshape(B, Nq, -1)  # B, Nq, C
        return self.proj_drop(self.proj(out))


class RoPEAttention(_TemperatureAttention):
    """``softmax(m_h * (R q)(R k)^T / sqrt(D)) v`` per head h, fused qkv.

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
        super().__init__(embed_dims, num_heads, attn_drop, proj_drop, fused)
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)

    def forward(self, x: Tensor, rope: RopeTables,
                key_padding_mask: Optional[Tensor] = None,
                context: Optional[Tensor] = None,
                context_rope: Optional[RopeTables] = None) -> Tensor:
        """
        Args:
            x: ``(B, N, C)`` query tokens.
            rope: ``(cos, sin)`` tables of ``x``'s positions,
                ``(B, 1, N, D)``.
            key_padding_mask: optional ``(B, Nk)`` bool, True = real key;
                padded keys are never attended to.
            context: optional ``(B, Nk, C)`` tokens to attend to (keys and
                values); default ``x`` (self-attention).
            context_rope: tables of the context's positions (required with
                ``context``).

        Returns:
            ``(B, N, C)``.
        """
        B, N, C = x.shape
        if context is None:
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each B, H, N, D
            return self._attend(q, k, v, rope, rope, key_padding_mask)
        if context_rope is None:
            raise ValueError('context_rope (the positions of the context '
                             'tokens) is required with context')
        w_q, w_kv = self.qkv.weight.split([C, 2 * C])
        b_q = b_kv = None
        if self.qkv.bias is not None:
            b_q, b_kv = self.qkv.bias.split([C, 2 * C])
        q = self._heads(F.linear(x, w_q, b_q))  # B, H, N, D
        Nk = context.shape[1]
        kv = F.linear(context, w_kv, b_kv).reshape(
            B, Nk, 2, self.num_heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # each B, H, Nk, D
        return self._attend(q, k, v, rope, context_rope, key_padding_mask)


class RoPECrossAttention(_TemperatureAttention):
    """Cross-attention with separate q/k/v projections (CroCo decoder's
    ``cross_attn.{projq,projk,projv,proj}``): queries from ``x`` rotated with
    their positions, keys/values from ``context`` with theirs.

    Args:
        embed_dims: token channels C.
        num_heads: number of heads H (D = C / H).
        qkv_bias: bias in the q/k/v projections.
        attn_drop: dropout on attention weights (training only).
        proj_drop: dropout after the output projection.
        fused: use ``F.scaled_dot_product_attention`` (else the manual path).
    """

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.,
                 fused: bool = True) -> None:
        super().__init__(embed_dims, num_heads, attn_drop, proj_drop, fused)
        self.projq = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.projk = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.projv = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)

    def forward(self, x: Tensor, context: Tensor, rope: RopeTables,
                context_rope: RopeTables,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x: ``(B, N, C)`` queries (frame-1 tokens).
            context: ``(B, Nk, C)`` keys/values (frame-2 tokens).
            rope: tables of ``x``'s positions.
            context_rope: tables of the context's positions.
            key_padding_mask: optional ``(B, Nk)`` bool, True = real key.

        Returns:
            ``(B, N, C)``.
        """
        q = self._heads(self.projq(x))  # B, H, N, D
        k = self._heads(self.projk(context))  # B, H, Nk, D
        v = self._heads(self.projv(context))  # B, H, Nk, D
        return self._attend(q, k, v, rope, context_rope, key_padding_mask)


def is_temperature_attention(module: nn.Module) -> bool:
    """Whether ``module`` is an attention with a per-head temperature."""
    return isinstance(module, _TemperatureAttention)
