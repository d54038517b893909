"""Plain ViT with 2-D RoPE that runs on a few windows or on the whole image."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmseg.registry import MODELS
from torch import Tensor

from ...structures import (TokenLayout, as_window_list, check_extra_tokens,
                           check_windows)
from ..layers import RoPEAttention, RoPEBlock, rope_2d_tables
from ..layers.rope import activation_dtype
from ..layers.window_attention import (check_global_indexes,
                                       default_global_indexes,
                                       plan_window_attention)
from ..layers.window_tokens import (gather_patches, grid_positions,
                                    window_token_index)
from ..utils import TemperatureMixin

ARCH_SETTINGS = {
    's': dict(embed_dims=384, num_layers=12, num_heads=6),
    'b': dict(embed_dims=768, num_layers=12, num_heads=12),
    'l': dict(embed_dims=1024, num_layers=24, num_heads=16),
}

CONVERT_HINT = (
    'Download a CroCo v2 checkpoint (e.g. CroCo_V2_ViTBase_BaseDecoder.pth '
    'from the CroCo repository, naver/croco) and convert it with\n'
    '  python tools/convert_croco.py CroCo_V2_ViTBase_BaseDecoder.pth '
    'checkpoints/crocov2_vitb16_rope.pth\n'
    'or train from scratch with '
    '--cfg-options model.backbone.init_cfg=None')


@MODELS.register_module()
class RoPEVisionTransformer(TemperatureMixin, BaseModule):
    """ViT with 2-D RoPE (CroCo layout), no class token, no absolute position
    embedding (unless ``pos_embed='cosine'``, the paper's baseline),
    trainable on windows (Win-Win) and run on any image size.

    ``forward(inputs, windows)`` embeds only the windows' tokens, each with
    its true (row, col) position in the full image, runs all windows of an
    image as one sequence (so attention sees real long-range offsets) and
    returns per-window maps folded into the batch. ``windows=None`` is one
    window covering the whole image (padded to the patch size).
    ``extra_tokens`` (paper Table 7 right) are isolated tokens appended to
    the windows' sequence: they attend and are attended to in every block,
    and are dropped from the output maps.
    ``forward_tokens(inputs, windows)`` is the same at token level: the
    ``(B, L, C)`` tokens per out index and their :class:`TokenLayout`
    (positions, padding mask, window sizes), for decoders that consume
    tokens and positions (``RoPECrossDecoder``).

    Args:
        arch: preset ``'s'`` (384/12/6), ``'b'`` (768/12/12) or ``'l'``
            (1024/24/16). ``embed_dims``/``num_layers``/``num_heads`` given
            explicitly override the preset.
        embed_dims: token channels.
        num_layers: number of blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden size / embed_dims.
        patch_size: pixels per token side.
        patch_kernel_size: side of the pixel square each token's embedding
            reads, centred on its patch (zero outside the image, as a
            ``Conv2d`` with padding ``(k - p) / 2``); None = ``patch_size``
            (ViT's non-overlapping patches, CroCo's weights). Larger (e.g.
            32 for 16-pixel patches) makes neighbouring tokens share pixels,
            so a patch moved by part of a token still looks like its match
            (the flow demo uses 64: its small model learns flow with it,
            docs/flow_demo.md). Windows read the pixels around them too,
            so window tokens stay equal to the whole image's. The embedding
            costs ``(k / p)^2`` times more, and a checkpoint's ``p x p``
            ``patch_embed`` no longer fits.
        in_channels: image channels.
        out_indices: blocks whose outputs are returned (negative = from end).
        qkv_bias: bias in the qkv projections.
        drop_rate: dropout after projections.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        norm_cfg: norm layers (CroCo: LN with eps 1e-6).
        act_cfg: MLP activation.
        final_norm: normalise the last block's output (as mmseg's ViT: only
            the output of the last layer goes through the final norm).
        with_cp: activation checkpointing per block.
        rope_base: RoPE frequency base (CroCo: 100).
        pos_embed: ``'rope'`` (default: RoPE in every attention, relative
            offsets) or ``'cosine'`` (the paper's 'Impact of positional
            embeddings' baseline, section 4.1: fixed 2-D sin-cos absolute
            embeddings, mmpretrain's ``build_2d_sincos_position_embedding``,
            added to the tokens after the patch embedding at each token's
            absolute (row, col) in the full image, so a window's tokens get
            the same embedding as in the whole image; attention then applies
            no rotation). The attention temperature (``TemperatureMixin``)
            works with both: the 'with temperature correction' baseline
            keeps ``TemperatureTuningHook``, the other drops it.
        cosine_base: frequency base of the sin-cos embedding (Transformer /
            MAE: 10000); used with ``pos_embed='cosine'`` only.
        fused_attn: SDPA attention (False: explicit softmax, for checks).
        attn_layer: the blocks' attention class (default
            :class:`RoPEAttention`); see ``RoPEBlock``.
        window_attn_size: ViTDet-style attention (the paper's
            'Full-res. ViT-Det' baseline): blocks not in
            ``global_attn_indexes`` attend inside windows of this many
            tokens per side (ViTDet: 14), the grid padded with zero tokens
            to a multiple of it as ViTDet does. None = global attention in
            every block. With Win-Win windows each window is partitioned on
            its own (windows of one size in the batch); see
            ``models/layers/window_attention.py``.
        global_attn_indexes: blocks that keep global attention when
            ``window_attn_size`` is set; default ViTDet's four evenly
            spaced ones (12 blocks: 2, 5, 8, 11).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=PATH)`` with a
            file written by ``tools/convert_croco.py`` (``prefix='backbone.'``
            for a whole-model checkpoint), or mmengine initialisers applied
            after the default truncated-normal(0.02) init, e.g. CroCo's
            ``dict(type='Xavier', layer='Linear', distribution='uniform')``.
    """

    def __init__(self,
                 arch: Optional[str] = 'b',
                 embed_dims: Optional[int] = None,
                 num_layers: Optional[int] = None,
                 num_heads: Optional[int] = None,
                 mlp_ratio: float = 4.,
                 patch_size: int = 16,
                 patch_kernel_size: Optional[int] = None,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 final_norm: bool = True,
                 with_cp: bool = False,
                 rope_base: float = 100.,
                 pos_embed: str = 'rope',
                 cosine_base: float = 10000.,
                 fused_attn: bool = True,
                 attn_layer: Type[nn.Module] = RoPEAttention,
                 window_attn_size: Optional[int] = None,
                 global_attn_indexes: Optional[Sequence[int]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        preset = dict(ARCH_SETTINGS['b'])
        if arch is not None:
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'unknown arch {arch!r}; choose one of '
                                 f'{sorted(ARCH_SETTINGS)} or set arch=None '
                                 'with embed_dims/num_layers/num_heads')
            preset = dict(ARCH_SETTINGS[arch])
        for key, value in (('embed_dims', embed_dims),
                           ('num_layers', num_layers),
                           ('num_heads', num_heads)):
            if value is not None:
                preset[key] = value
        self.embed_dims = preset['embed_dims']
        self.num_layers = preset['num_layers']
        self.num_heads = preset['num_heads']
        self.patch_size = patch_size
        self.rope_base = rope_base
        if pos_embed not in ('rope', 'cosine'):
            raise ValueError(f"pos_embed must be 'rope' or 'cosine', got "
                             f'{pos_embed!r}')
        if pos_embed == 'cosine' and self.embed_dims % 4:
            raise ValueError(f"pos_embed='cosine' needs embed_dims divisible "
                             f'by 4 (sin/cos of rows and columns), got '
                             f'{self.embed_dims}')
        if pos_embed == 'cosine' and window_attn_size is not None:
            raise ValueError("pos_embed='cosine' with window_attn_size is not "
                             'supported (ViTDet-style windows apply RoPE); '
                             "use pos_embed='rope'")
        self.pos_embed = pos_embed
        self.cosine_base = cosine_base
        self.with_cp = with_cp
        self.final_norm = final_norm
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = [i % self.num_layers for i in out_indices]
        if window_attn_size is None and global_attn_indexes is not None:
            raise ValueError('global_attn_indexes needs window_attn_size '
                             '(without it every block is global)')
        if window_attn_size is not None and window_attn_size < 1:
            raise ValueError(f'window_attn_size must be >= 1, got '
                             f'{window_attn_size}')
        self.window_attn_size = window_attn_size
        self.global_attn_indexes = (
            default_global_indexes(self.num_layers)
            if global_attn_indexes is None else
            check_global_indexes(global_attn_indexes, self.num_layers))

        kernel = patch_size if patch_kernel_size is None else \
            patch_kernel_size
        if kernel < patch_size or (kernel - patch_size) % 2:
            raise ValueError(
                f'patch_kernel_size={patch_kernel_size} must be >= '
                f'patch_size={patch_size} and exceed it by an even number '
                '(the same margin on every side of the patch)')
        self.patch_margin = (kernel - patch_size) // 2
        self.patch_embed = nn.Module()
        # A conv so that CroCo's ``patch_embed.proj`` weights load as they are.
        self.patch_embed.proj = nn.Conv2d(in_channels, self.embed_dims,
                                          kernel, stride=patch_size,
                                          padding=self.patch_margin)
        self.drop_after_pos = nn.Dropout(drop_rate)
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1)
               for i in range(self.num_layers)]  # stochastic depth rule
        self.layers = nn.ModuleList([
            RoPEBlock(self.embed_dims, self.num_heads, mlp_ratio, qkv_bias,
                      drop_rate, attn_drop_rate, dpr[i], norm_cfg, act_cfg,
                      fused_attn, attn_layer) for i in range(self.num_layers)
        ])
        if final_norm:
            self.norm = build_norm_layer(norm_cfg, self.embed_dims)[1]

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            path = self.init_cfg.get('checkpoint')
            if (path and '://' not in path and not osp.isfile(path)):
                raise FileNotFoundError(
                    f'RoPEVisionTransformer init_cfg checkpoint {path!r} does '
                    f'not exist.\n{CONVERT_HINT}')
            super().init_weights()
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.patch_embed.proj.bias)
        if self.init_cfg is not None:
            # mmengine initialisers on top of the default, e.g. CroCo's
            # from-scratch init: dict(type='Xavier', layer='Linear',
            # distribution='uniform').
            super().init_weights()

    # ------------------------------------------------------------ temperature
    def temperature_modules(self) -> Dict[str, nn.Module]:
        """``{'layers.i.attn': attention}`` of every block, in order; the
        multipliers of ``set_temperature``/``get_temperature`` are their
        ``temperature`` buffers, ``(num_layers, num_heads)``."""
        return {f'layers.{i}.attn': layer.attn
                for i, layer in enumerate(self.layers)}

    # ------------------------------------------------------------- lr decay
    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer depth for mmpretrain's layer-wise lr decay: patch embedding
        0, block i -> i + 1, everything after (final norm, heads) last."""
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths

    @property
    def size_divisor(self) -> int:
        """Inputs are padded internally to a multiple of this."""
        return self.patch_size

    # ---------------------------------------------------------------- forward
    def embed(self, inputs: Tensor, windows=None,
              extra_tokens=None) -> Tuple[Tensor, TokenLayout]:
        """Patch-embed the whole image (padded to the patch size) or only
        the windows' tokens (then the extra tokens').

        Args:
            inputs: ``(B, C_in, H, W)`` images.
            windows: None or pixel boxes, see :meth:`forward`.
            extra_tokens: None or one-patch pixel boxes, see
                :meth:`forward`.

        Returns:
            Tokens ``(B, L, C)`` and their :class:`TokenLayout`.
        """
        B, Cin, H, W = inputs.shape
        p = self.patch_size
        if extra_tokens is not None and windows is None:
            raise ValueError('extra_tokens go beside windows: pass windows '
                             'too (a whole image has no token left out)')
        if extra_tokens is not None and self.window_attn_size is not None:
            raise ValueError('extra_tokens are not supported with ViTDet-'
                             'style attention (window_attn_size)')
        if extra_tokens is not None and self.patch_margin:
            raise ValueError('extra_tokens are not supported with '
                             'patch_kernel_size > patch_size')
        if windows is None:
            inputs = F.pad(inputs, (0, -W % p, 0, -H % p))
            x = self.patch_embed.proj(inputs)  # B, C, gh, gw
            gh, gw = x.shape[-2:]
            x = x.flatten(2).transpose(1, 2)  # B, N, C
            positions = grid_positions(gh, gw, x.device).expand(B, -1, -1)
            return x, TokenLayout(positions, None, [[(gh, gw)]] * B, True)
        wins = as_window_list(windows, B, inputs.device)
        for b, boxes in enumerate(wins):
            check_windows(boxes, H, W, p, b)
        extra = None
        if extra_tokens is not None:
            extra = as_window_list(extra_tokens, B, inputs.device)
            for b, boxes in enumerate(extra):
                check_extra_tokens(boxes, wins[b], H, W, p, b)
        index, positions, mask, sizes = window_token_index(wins, p, W // p,
                                                           extra)
        # Only the windows' pixels are unfolded into patches: nothing of the
        # size of the full image is created (padding tokens are zeros).
        seqs = []
        for b, boxes in enumerate(wins):
            parts = []
            for x1, y1, x2, y2 in boxes.tolist():
                if self.patch_margin:
                    parts.append(self._margin_patches(inputs[b], x1, y1, x2,
                                                      y2))
                    continue
                h, w = (y2 - y1) // p, (x2 - x1) // p
                crop = inputs[b, :, y1:y2, x1:x2].reshape(Cin, h, p, w, p)
                crop = crop.permute(1, 3, 0, 2, 4)  # h, w, Cin, p, p
                parts.append(crop.reshape(h * w, Cin * p * p))
            if extra is not None:
                parts.append(gather_patches(inputs[b], extra[b], p))
            seq = torch.cat(parts)  # n_b, Cin*p*p
            seqs.append(F.pad(seq, (0, 0, 0, index.shape[1] - len(seq))))
        patches = torch.stack(seqs)  # B, L, Cin*p*p
        proj = self.patch_embed.proj
        x = F.linear(patches, proj.weight.flatten(1), proj.bias)  # B, L, C
        return x, TokenLayout(positions, mask, sizes, extra=(
            None if extra is None else [len(e) for e in extra]))

    def _margin_patches(self, image: Tensor, x1: int, y1: int, x2: int,
                        y2: int) -> Tensor:
        """``(h * w, C_in * k * k)`` embedding inputs of one window's tokens
        when each reads ``patch_margin`` pixels around its patch: the
        window's pixels plus the margin (zeros beyond the image, as the
        whole image's padded conv sees them), unfolded with stride p."""
        p, m = self.patch_size, self.patch_margin
        H, W = image.shape[-2:]
        crop = image[:, max(y1 - m, 0):min(y2 + m, H),
                     max(x1 - m, 0):min(x2 + m, W)]
        crop = F.pad(crop, (max(m - x1, 0), max(x2 + m - W, 0),
                            max(m - y1, 0), max(y2 + m - H, 0)))
        kernel = p + 2 * m  # crop: C_in, y2 - y1 + 2m, x2 - x1 + 2m
        cols = F.unfold(crop[None], kernel, stride=p)  # 1, C_in*k*k, h*w
        return cols[0].T  # h*w, C_in*k*k (channel-major, as the conv)

    def cosine_embedding(self, positions: Tensor) -> Tensor:
        """2-D sin-cos absolute embeddings of token positions.

        Args:
            positions: ``(B, L, 2)`` (row, col) token positions in the full
                image's grid (padding tokens: any position).

        Returns:
            ``(B, L, C)`` float32 embeddings, ``[sin(col w), cos(col w),
            sin(row w), cos(row w)]`` as mmpretrain's MAE/MoCo v3 table.
        """
        rows = int(positions[..., 0].max()) + 1
        cols = int(positions[..., 1].max()) + 1
        # mmpretrain's table covers a (rows, cols) grid from the origin;
        # its tokens are column-major (meshgrid(w, h), 'ij'): token
        # (row, col) is entry col * rows + row. Gathering from it gives each
        # window token its absolute embedding.
        table = build_2d_sincos_position_embedding(
            (rows, cols), self.embed_dims, self.cosine_base)[0]  # R*C, C
        index = positions[..., 1] * rows + positions[..., 0]  # B, L
        return table.to(positions.device)[index]  # B, L, C

    def forward_tokens(self, inputs: Tensor, windows=None, extra_tokens=None
                       ) -> Tuple[List[Tensor], TokenLayout]:
        """Token-level forward.

        Args:
            inputs: ``(B, 3, H, W)`` images, any size.
            windows: None (whole image) or pixel boxes ``(B, K, 4)`` /
                list of ``(K_b, 4)`` as ``(x1, y1, x2, y2)``, see
                ``winwin_mm/structures/windows.py``.
            extra_tokens: None or one-patch pixel boxes ``(B, M, 4)`` /
                list of ``(M_b, 4)``, outside the windows; they follow the
                windows' tokens in each sequence.

        Returns:
            One ``(B, L, C)`` token tensor per out index (the last block's
            through the final norm) and the :class:`TokenLayout` that gives
            each token's position, the padding mask and the window sizes.
        """
        x, layout = self.embed(inputs, windows, extra_tokens)
        head_dim = self.embed_dims // self.num_heads
        dtype = activation_dtype(x)
        if self.pos_embed == 'cosine':
            x = x + self.cosine_embedding(layout.positions).to(x.dtype)
            # Identity rotation (cos 1, sin 0): the attention kernel is
            # shared with RoPE and applies no positional term here.
            B, L = x.shape[:2]
            rope = (x.new_ones(1, 1, 1, 1).expand(B, 1, L, head_dim),
                    x.new_zeros(1, 1, 1, 1).expand(B, 1, L, head_dim))
        else:
            rope = rope_2d_tables(layout.positions, head_dim, self.rope_base,
                                  dtype)  # 2 x (B, 1, L, D)
        x = self.drop_after_pos(x)
        plan = None
        if self.window_attn_size is not None:
            plan = plan_window_attention(layout, self.window_attn_size,
                                         head_dim, self.rope_base, dtype)
        outs = []
        for i, layer in enumerate(self.layers):
            window = None if i in self.global_attn_indexes else plan
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(layer, x, rope, layout.mask, window,
                                  use_reentrant=False)
            else:
                x = layer(x, rope, layout.mask, window)  # B, L, C
            if i in self.out_indices:
                out = x
                if i == self.num_layers - 1 and self.final_norm:
                    out = self.norm(out)
                outs.append(out)  # B, L, C
        return outs, layout

    def forward(self, inputs: Tensor, windows=None,
                extra_tokens=None) -> Tuple[Tensor, ...]:
        """
        Args:
            inputs: ``(B, 3, H, W)`` images, any size.
            windows: None (whole image) or pixel boxes ``(B, K, 4)`` /
                list of ``(K_b, 4)`` as ``(x1, y1, x2, y2)``, see
                ``winwin_mm/structures/windows.py``.
            extra_tokens: None or one-patch pixel boxes ``(B, M, 4)`` /
                list of ``(M_b, 4)`` outside the windows: they take part in
                attention and have no output map.

        Returns:
            One ``(B*K, C, h, w)`` map per out index; window k of image b is
            row ``b*K + k``. Whole image: ``(B, C, ceil(H/p), ceil(W/p))``.
        """
        outs, layout = self.forward_tokens(inputs, windows, extra_tokens)
        return tuple(layout.to_maps(out) for out in outs)  # B*K, C, h, w
