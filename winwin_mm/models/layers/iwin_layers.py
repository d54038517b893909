"""Building blocks of the Iwin Transformer (interleaved window attention).

Every module works on channels-last maps ``(B, H, W, C)``: linear layers and
LayerNorm act on the last dimension and the spatial layout needed by the
window regrouping and the depthwise convolution stays explicit. Module and
parameter names follow the official Iwin code, so its checkpoints load
without a key mapping.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath, build_norm_layer
from torch import Tensor, nn

from .transformer_block import Mlp


def interleave_partition(x: Tensor, window_size: int) -> Tensor:
    """Group the tokens of a map into interleaved windows.

    With ``Hg = Hp // ws`` and ``Wg = Wp // ws`` windows along each axis,
    window ``(gh, gw)`` holds the tokens whose row is congruent to ``gh``
    modulo ``Hg`` and whose column is congruent to ``gw`` modulo ``Wg``, i.e.
    every ``Hg``-th row and every ``Wg``-th column (a strided, dilated grid
    spanning the whole map).

    Args:
        x: ``(B, Hp, Wp, C)``, ``Hp`` and ``Wp`` multiples of ``window_size``.
        window_size: ``ws``, tokens per window along each axis.

    Returns:
        ``(B * Hg * Wg, ws * ws, C)``.
    """
    B, Hp, Wp, C = x.shape
    ws = window_size
    Hg, Wg = Hp // ws, Wp // ws
    x = x.view(B, ws, Hg, ws, Wg, C)  # row = i * Hg + gh, col = j * Wg + gw
    x = x.permute(0, 2, 4, 1, 3, 5)  # B, Hg, Wg, ws, ws, C
    return x.reshape(B * Hg * Wg, ws * ws, C)


def interleave_reverse(windows: Tensor, window_size: int, Hp: int,
                       Wp: int) -> Tensor:
    """Inverse of :func:`interleave_partition`.

    Args:
        windows: ``(B * Hg * Wg, ws * ws, C)``.
        window_size: ``ws``.
        Hp, Wp: size of the padded map.

    Returns:
        ``(B, Hp, Wp, C)``.
    """
    ws = window_size
    Hg, Wg = Hp // ws, Wp // ws
    C = windows.shape[-1]
    x = windows.view(-1, Hg, Wg, ws, ws, C)  # B, Hg, Wg, ws, ws, C
    x = x.permute(0, 3, 1, 4, 2, 5)  # B, ws, Hg, ws, Wg, C
    return x.reshape(-1, Hp, Wp, C)


class IwinPatchEmbed(nn.Module):
    """Pad to a multiple of the patch size (right/bottom), conv, norm.

    ``(B, 3, H, W) -> (B, ceil(H / p), ceil(W / p), C)``.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int,
                 norm_cfg: dict):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: Tensor) -> Tensor:
        p = self.patch_size
        H, W = x.shape[-2:]
        x = F.pad(x, (0, -W % p, 0, -H % p))  # B, 3, Hp, Wp
        x = self.proj(x).permute(0, 2, 3, 1)  # B, H/p, W/p, C
        return self.norm(x)


class InterleavedWindowMSA(nn.Module):
    """Multi-head self-attention inside interleaved windows.

    The map is zero-padded right/bottom to a multiple of the window size
    (the padding tokens take part in attention: no mask, as in the official
    code), regrouped with :func:`interleave_partition`, attended with plain
    scaled dot-product attention (no relative position bias, no shift), then
    put back in place and cropped. ``(B, H, W, C) -> (B, H, W, C)``.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int,
                 qkv_bias: bool = True, attn_drop_rate: float = 0.,
                 proj_drop_rate: float = 0.):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn_drop_rate = attn_drop_rate
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        B, H, W, C = x.shape
        ws = self.window_size
        Hp, Wp = H + (-H % ws), W + (-W % ws)
        x = F.pad(x, (0, 0, 0, Wp - W, 0, Hp - H))  # B, Hp, Wp, C
        x = interleave_partition(x, ws)  # nW*B, N, C
        nWB, N, _ = x.shape
        qkv = self.qkv(x).view(nWB, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # nW*B, heads, N, d
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop_rate if self.training else 0.)
        x = x.transpose(1, 2).reshape(nWB, N, C)  # nW*B, N, C
        x = self.proj_drop(self.proj(x))
        x = interleave_reverse(x, ws, Hp, Wp)  # B, Hp, Wp, C
        return x[:, :H, :W]


class DepthwiseConv(nn.Module):
    """Depthwise 3x3 convolution (with bias) on a ``(B, H, W, C)`` map."""

    def __init__(self, embed_dims: int, kernel_size: int = 3):
        super().__init__()
        self.depthwise = nn.Conv2d(embed_dims, embed_dims, kernel_size,
                                   padding=kernel_size // 2,
                                   groups=embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        x = self.depthwise(x.permute(0, 3, 1, 2))  # B, C, H, W
        return x.permute(0, 2, 3, 1)


class IwinBlock(nn.Module):
    """Iwin block: attention and depthwise conv in parallel on one norm.

    ``x = x + DropPath(IWA(LN1(x)) + DWConv(LN1(x)))``, then
    ``x = x + DropPath(MLP(LN2(x)))``. Without ``with_conv`` (the last stage
    of the official models) the conv term is absent.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int,
                 mlp_ratio: float = 4., qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., with_conv: bool = True,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'), with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = InterleavedWindowMSA(embed_dims, num_heads, window_size,
                                         qkv_bias, attn_drop_rate, drop_rate)
        self.dwconv = DepthwiseConv(embed_dims) if with_conv else None
        self.drop_path = DropPath(drop_path_rate)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), act_cfg,
                       drop_rate)

    def _forward(self, x: Tensor) -> Tensor:
        y = self.norm1(x)  # B, H, W, C
        mixed = self.attn(y)
        if self.dwconv is not None:
            mixed = mixed + self.dwconv(y)
        x = x + self.drop_path(mixed)
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


class IwinDownsample(nn.Module):
    """Norm, pad to odd size + 1, conv 3x3 stride 2: C -> 2C, size halved
    (rounded up). ``(B, H, W, C) -> (B, ceil(H / 2), ceil(W / 2), 2C)``.
    """

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        B, H, W, C = x.shape
        x = self.norm(x).permute(0, 3, 1, 2)  # B, C, H, W
        x = F.pad(x, (0, W % 2 + 1, 0, H % 2 + 1))  # B, C, 2*ceil(H/2)+1, ..
        return self.conv(x).permute(0, 2, 3, 1)  # B, H', W', 2C


class IwinStage(nn.Module):
    """A sequence of Iwin blocks followed by an optional downsample.

    ``forward`` returns ``(out, x)``: the stage output before the
    downsample (what the backbone normalizes and emits) and the input of the
    next stage.
    """

    def __init__(self, embed_dims: int, depth: int, num_heads: int,
                 window_size: int, drop_path_rates: Sequence[float],
                 with_conv: bool, downsample: Optional[nn.Module],
                 **block_kwargs):
        super().__init__()
        self.blocks = nn.ModuleList([
            IwinBlock(embed_dims, num_heads, window_size,
                      drop_path_rate=drop_path_rates[j], with_conv=with_conv,
                      **block_kwargs) for j in range(depth)
        ])
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        for block in self.blocks:
            x = block(x)
        out = x
        if self.downsample is not None:
            x = self.downsample(x)
        return out, x


class SharedInterleavedGroups:
    """Interleaved groups of the full image, restricted to window tokens.

    Win-Win for Iwin: the tokens of all windows of an image attend together
    in the interleaved groups that the *whole image's* map would have at
    this stage: token ``(r, c)`` (absolute, in the image's stage grid) is in
    group ``(r mod Hg, c mod Wg)`` with ``Hg = Hp / ws``, ``Wg = Wp / ws``
    of the full padded map (:func:`interleave_partition`). A group keeps
    only the tokens that lie in windows, so tokens of different windows
    that share a group attend to each other, at the strides used at test.
    Iwin has no positional term in attention, so nothing else is needed.

    Args:
        offsets: ``(T, 2)`` absolute (row, col) of every window token, in
            the order of the concatenated windows' row-major tokens.
        images: ``(T,)`` image index of every token.
        full_size: ``(H_i, W_i)`` of the whole image's map at this stage.
        window_size: ``ws``.
    """

    def __init__(self, offsets: Tensor, images: Tensor, full_size,
                 window_size: int) -> None:
        ws = window_size
        Hg = -(-full_size[0] // ws)  # Hp / ws
        Wg = -(-full_size[1] // ws)
        key = (images * Hg + offsets[:, 0] % Hg) * Wg + offsets[:, 1] % Wg
        order = torch.argsort(key, stable=True)  # T
        _, counts = torch.unique_consecutive(key[order], return_counts=True)
        num, length = len(counts), int(counts.max())
        starts = torch.cumsum(counts, 0) - counts  # G
        slot = torch.arange(len(key), device=key.device) - \
            torch.repeat_interleave(starts, counts)  # slot in its group
        group = torch.repeat_interleave(torch.arange(num, device=key.device),
                                        counts)
        self.flat = group * length + slot  # T sorted -> slot in (G * L)
        self.order = order
        self.shape = (num, length)
        self.mask = torch.zeros(num * length, dtype=torch.bool,
                                device=key.device)
        self.mask[self.flat] = True
        self.mask = self.mask.view(num, length)  # G, L: real tokens

    def attend(self, attn: 'InterleavedWindowMSA', tokens: Tensor) -> Tensor:
        """``attn``'s weights applied within the groups, masked padding.

        Args:
            attn: the block's :class:`InterleavedWindowMSA`.
            tokens: ``(T, C)`` normalised window tokens.

        Returns:
            ``(T, C)`` attention outputs, in the order of ``tokens``.
        """
        G, L = self.shape
        C = tokens.shape[-1]
        grouped = tokens.new_zeros(G * L, C)
        grouped[self.flat] = tokens[self.order]
        grouped = grouped.view(G, L, C)
        heads = attn.num_heads
        qkv = attn.qkv(grouped).view(G, L, 3, heads, C // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # G, heads, L, d
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=self.mask[:, None, None, :],
            dropout_p=attn.attn_drop_rate if attn.training else 0.)
        x = attn.proj_drop(attn.proj(x.transpose(1, 2).reshape(G, L, C)))
        out = torch.empty_like(tokens)
        out[self.order] = x.reshape(G * L, C)[self.flat]
        return out


def iwin_block_shared(block: IwinBlock, maps: Sequence[Tensor],
                      groups: SharedInterleavedGroups) -> list:
    """One :class:`IwinBlock` on the windows of a batch, attention shared.

    Norms, depthwise conv and MLP run on each window's map (the conv sees
    zeros beyond the window, as on a crop); the attention runs once over
    all windows' tokens in ``groups``.

    Args:
        block: the block (its weights).
        maps: per window ``(1, h_k, w_k, C)``.
        groups: the stage's :class:`SharedInterleavedGroups`.

    Returns:
        The updated per-window maps.
    """
    ys = [block.norm1(x) for x in maps]
    C = ys[0].shape[-1]
    mixed = groups.attend(block.attn, torch.cat([y.reshape(-1, C)
                                                  for y in ys]))  # T, C
    out, start = [], 0
    for x, y in zip(maps, ys):
        n = y.shape[1] * y.shape[2]
        m = mixed[start:start + n].view_as(y)
        start += n
        if block.dwconv is not None:
            m = m + block.dwconv(y)
        x = x + block.drop_path(m)
        out.append(x + block.drop_path(block.mlp(block.norm2(x))))
    return out
