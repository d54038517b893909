"""Iwin Transformer backbone (interleaved window attention + depthwise conv).

`Iwin Transformer: Hierarchical Vision Transformer using Interleaved Windows`
(Huo & Li). Position-embedding-free and hierarchical (strides 4, 8, 16, 32).
Module and parameter names match the official code, so its segmentation
backbone checkpoints load as they are and its ImageNet checkpoints load with
the classifier dropped (see :meth:`IwinTransformer.init_weights`).
"""
import logging
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS
from torch import Tensor, nn

from ...structures import as_window_list, check_windows
from ..layers.iwin_layers import (IwinDownsample, IwinPatchEmbed, IwinStage,
                                  SharedInterleavedGroups, iwin_block_shared)

# arch: (embed_dims, depths, num_heads)
IWIN_ARCHS = {
    't': (96, (2, 2, 6, 2), (3, 6, 12, 24)),
    's': (96, (2, 2, 18, 2), (3, 6, 12, 24)),
    'b': (128, (2, 2, 18, 2), (4, 8, 16, 32)),
    'l': (192, (2, 2, 18, 2), (6, 12, 24, 48)),
}
# Keys of ImageNet checkpoints that a backbone has no use for.
CLASSIFIER_PREFIXES = ('head.', 'norm.')


@MODELS.register_module()
class IwinTransformer(BaseModule):
    """Iwin Transformer backbone.

    Each block adds, on one LayerNorm of its input, interleaved window
    attention (window ``(gh, gw)`` holds every ``Hp/ws``-th row and
    ``Wp/ws``-th column, so one window spans the whole map) and a depthwise
    3x3 convolution (all stages but the last), then an MLP. Any input size
    is accepted: the image is padded to a multiple of ``patch_size`` and each
    attention map to a multiple of ``window_size`` (zeros, no mask, as in the
    official model).

    Args:
        arch: preset ``'t'``, ``'s'``, ``'b'`` or ``'l'`` giving
            ``embed_dims``, ``depths`` and ``num_heads``. Any of those three
            passed explicitly (not None) overrides the preset; with
            ``arch=None`` all three must be given.
        embed_dims, depths, num_heads: width of stage 0 (doubled at each
            stage), blocks per stage and heads per stage.
        window_size: tokens per window side (7 for 224 px, 12 for 384,
            16 for 512+ in the official models). It has no parameters, so
            any value loads any checkpoint.
        patch_size: stride of the patch embedding.
        in_channels: image channels.
        mlp_ratio: MLP hidden width / embed width.
        qkv_bias: bias of the qkv projection.
        drop_rate: dropout after the attention projection and in the MLP.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        out_indices: stages to output (negative indices count from the
            end); stages after the last one are not run.
        frozen_stages: freeze the patch embedding (>= 0) and stages
            ``0 .. frozen_stages - 1`` with their output norms; -1: none.
        conv_stages: stages whose blocks have the depthwise conv branch
            (default: all but the last, as in the official models).
        act_cfg, norm_cfg: MLP activation and every norm layer.
        with_cp: gradient checkpointing per block (saves memory).
        window_mode: ``'crops'`` (default): each window is an independent
            image crop (its own interleaved groups, no interaction between
            windows). ``'shared'``: the windows of an image share one
            forward pass: their tokens attend together within the
            interleaved groups of the whole image's map (the strides used
            at test), while patch embedding, depthwise conv, MLP and patch
            merging run per window (zeros beyond it, as on a crop). Needs
            windows aligned to ``size_divisor``.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads a
            segmentation or classification checkpoint; otherwise truncated
            normal init of linear layers.

    Windows: ``forward(inputs, windows)`` takes the Win-Win window interface
    shared with ``RoPEVisionTransformer``; ``window_mode`` says how the
    windows of one image are run (docs/iwin.md).
    """

    def __init__(self,
                 arch: Optional[str] = 't',
                 embed_dims: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 window_size: int = 7,
                 patch_size: int = 4,
                 in_channels: int = 3,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 conv_stages: Optional[Sequence[int]] = None,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False,
                 window_mode: str = 'crops',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if window_mode not in ('crops', 'shared'):
            raise ValueError(f"window_mode must be 'crops' or 'shared', got "
                             f'{window_mode!r}')
        self.window_mode = window_mode
        if arch is not None:
            if arch.lower() not in IWIN_ARCHS:
                raise ValueError(f'arch={arch!r} is not one of '
                                 f'{sorted(IWIN_ARCHS)}')
            preset = IWIN_ARCHS[arch.lower()]
            embed_dims = preset[0] if embed_dims is None else embed_dims
            depths = preset[1] if depths is None else depths
            num_heads = preset[2] if num_heads is None else num_heads
        elif None in (embed_dims, depths, num_heads):
            raise ValueError('with arch=None, embed_dims, depths and '
                             'num_heads must all be given')
        if len(depths) != len(num_heads):
            raise ValueError(f'depths {depths} and num_heads {num_heads} '
                             'must have one entry per stage')
        num_stages = len(depths)
        self.embed_dims = embed_dims
        self.depths = tuple(depths)
        self.num_heads = tuple(num_heads)
        self.patch_size = patch_size
        self.window_size = window_size
        self.out_indices = tuple(sorted(i % num_stages for i in out_indices))
        self.frozen_stages = frozen_stages
        if conv_stages is None:
            conv_stages = range(num_stages - 1)
        conv_stages = {i % num_stages for i in conv_stages}
        self.num_features = [embed_dims * 2**i for i in range(num_stages)]

        self.patch_embed = IwinPatchEmbed(in_channels, embed_dims, patch_size,
                                          norm_cfg)
        total = sum(depths)  # stochastic depth: 0 .. drop_path_rate
        dpr = [drop_path_rate * j / max(total - 1, 1) for j in range(total)]
        self.layers = nn.ModuleList()
        for i, depth in enumerate(depths):
            dims = self.num_features[i]
            downsample = IwinDownsample(dims, 2 * dims, norm_cfg) \
                if i < num_stages - 1 else None
            self.layers.append(IwinStage(
                dims, depth, num_heads[i], window_size,
                drop_path_rates=dpr[sum(depths[:i]):sum(depths[:i + 1])],
                with_conv=i in conv_stages, downsample=downsample,
                mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate, act_cfg=act_cfg,
                norm_cfg=norm_cfg, with_cp=with_cp))
        for i in self.out_indices:
            norm = build_norm_layer(norm_cfg, self.num_features[i])[1]
            self.add_module(f'norm{i}', norm)
        self._freeze_stages()

    @property
    def size_divisor(self) -> int:
        """Input multiple at which the maps of all stages align exactly."""
        return self.patch_size * 2**(len(self.depths) - 1)

    # ------------------------------------------------------------ forward
    def forward(self, inputs: Tensor, windows=None) -> Tuple[Tensor, ...]:
        """Run the backbone.

        Args:
            inputs: ``(B, C, H, W)`` images, any ``H``, ``W``.
            windows: None (whole images), or pixel boxes ``(x1, y1, x2, y2)``
                as a ``(B, K, 4)`` int64 tensor or a list of ``B`` tensors
                ``(K_b, 4)``, aligned to ``patch_size`` (to ``size_divisor``
                for stage maps that align exactly with the pixel grid).

        Returns:
            One normalized map ``(B', C_i, H_i, W_i)`` per out index, with
            ``H_0 = ceil(H / patch_size)`` and ``H_{i+1} = ceil(H_i / 2)``.
            ``B' = B`` without windows; with windows ``B' = sum_b K_b`` and
            row ``sum(K_0..K_{b-1}) + k`` is window ``k`` of image ``b``
            (``b * K + k`` for a tensor). Windows smaller than the largest
            one are zero-padded right/bottom to its map size.
        """
        if windows is None:
            return self._forward_maps(inputs)
        B, _, H, W = inputs.shape
        windows = as_window_list(windows, B)
        if self.window_mode == 'shared':
            return self._forward_shared(inputs, windows)
        sizes, crops = [], []
        for b, wins in enumerate(windows):
            check_windows(wins, H, W, self.patch_size, image_index=b)
            for x1, y1, x2, y2 in wins.tolist():
                sizes.append((y2 - y1, x2 - x1))
                crops.append(inputs[b:b + 1, :, y1:y2, x1:x2])  # 1, C, h, w
        # Windows of one size go through together; each is its own image.
        outs = [None] * len(crops)
        for size in dict.fromkeys(sizes):
            idx = [n for n, s in enumerate(sizes) if s == size]
            maps = self._forward_maps(torch.cat([crops[n] for n in idx]))
            for row, n in enumerate(idx):
                outs[n] = [m[row] for m in maps]
        results = []
        for i in range(len(self.out_indices)):
            per_win = [o[i] for o in outs]  # C, h, w
            h = max(m.shape[-2] for m in per_win)
            w = max(m.shape[-1] for m in per_win)
            results.append(torch.stack([
                nn.functional.pad(m, (0, w - m.shape[-1], 0, h - m.shape[-2]))
                for m in per_win]))  # sum K, C, h, w
        return tuple(results)

    def _forward_shared(self, inputs: Tensor,
                        windows) -> Tuple[Tensor, ...]:
        """``window_mode='shared'``: see the class docstring.

        Args:
            inputs: ``(B, C, H, W)``.
            windows: list of ``B`` ``(K_b, 4)`` pixel boxes.

        Returns:
            As :meth:`forward` with windows.
        """
        H, W = inputs.shape[-2:]
        div = self.size_divisor
        maps, boxes, images = [], [], []
        for b, wins in enumerate(windows):
            check_windows(wins, H, W, self.patch_size, image_index=b)
            for x1, y1, x2, y2 in wins.tolist():
                if any(v % div for v in (x1, y1)):
                    raise ValueError(
                        f"window_mode='shared' needs window corners on the "
                        f'{div}-pixel grid (every stage aligned with the '
                        f'whole image), got x1={x1}, y1={y1} in image {b}; '
                        f'sample windows with patch_size={div}')
                maps.append(self.patch_embed(inputs[b:b + 1, :, y1:y2,
                                                    x1:x2]))  # 1, h, w, C
                boxes.append((y1, x1))
                images.append(b)
        full = (-(-H // self.patch_size), -(-W // self.patch_size))
        outs = [[] for _ in self.out_indices]
        for i, layer in enumerate(self.layers):
            stride = self.patch_size * 2**i
            offsets, owners = [], []
            for m, (y1, x1), b in zip(maps, boxes, images):
                h, w = m.shape[1:3]
                rows = torch.arange(h, device=m.device) + y1 // stride
                cols = torch.arange(w, device=m.device) + x1 // stride
                grid = torch.stack(torch.meshgrid(rows, cols, indexing='ij'),
                                   -1).view(-1, 2)  # h*w, 2 (row, col)
                offsets.append(grid)
                owners.append(torch.full((h * w, ), b, device=m.device))
            groups = SharedInterleavedGroups(torch.cat(offsets),
                                             torch.cat(owners), full,
                                             self.window_size)
            for block in layer.blocks:
                if block.with_cp and torch.is_grad_enabled():
                    maps = cp.checkpoint(iwin_block_shared, block, maps,
                                         groups, use_reentrant=False)
                else:
                    maps = iwin_block_shared(block, maps, groups)
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                outs[self.out_indices.index(i)] = [
                    norm(m)[0].permute(2, 0, 1) for m in maps]  # C, h, w
            if i == self.out_indices[-1]:
                break
            maps = [layer.downsample(m) for m in maps]
            full = (-(-full[0] // 2), -(-full[1] // 2))
        results = []
        for per_win in outs:
            h = max(m.shape[-2] for m in per_win)
            w = max(m.shape[-1] for m in per_win)
            results.append(torch.stack([
                nn.functional.pad(m, (0, w - m.shape[-1], 0, h - m.shape[-2]))
                for m in per_win]))  # sum K, C, h, w
        return tuple(results)

    def _forward_maps(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.patch_embed(x)  # B, H/4, W/4, C
        outs = []
        for i, layer in enumerate(self.layers):
            out, x = layer(x)  # B, H_i, W_i, C_i ; input of stage i + 1
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(out.permute(0, 3, 1, 2).contiguous())
            if i == self.out_indices[-1]:
                break
        return tuple(outs)

    # ------------------------------------------------------------ training
    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def _freeze_stages(self):
        frozen = []
        if self.frozen_stages >= 0:
            frozen.append(self.patch_embed)
        for i in range(min(self.frozen_stages, len(self.layers))):
            frozen.append(self.layers[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f'norm{i}'))
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer-wise depth of a parameter, for layer-wise lr decay.

        Protocol of mmpretrain's ``LearningRateDecayOptimWrapperConstructor``:
        the patch embedding is depth 0, block ``j`` of stage ``i`` is
        ``sum(depths[:i]) + j + 1``, a downsample counts with the last block
        of its stage, and the output norms and anything outside the backbone
        (names not starting with ``prefix``) get the last depth.

        Returns:
            ``(layer_depth, num_layers)``.
        """
        num_layers = sum(self.depths) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):].split('.')
        if name[0] == 'patch_embed':
            return 0, num_layers
        if name[0] == 'layers':
            i = int(name[1])
            if name[2] == 'blocks':
                return sum(self.depths[:i]) + int(name[3]) + 1, num_layers
            return sum(self.depths[:i + 1]), num_layers
        return num_layers - 1, num_layers

    # ------------------------------------------------------------ weights
    def init_weights(self):
        """Random init, or load an official (or own) checkpoint.

        With ``init_cfg=dict(type='Pretrained', checkpoint=PATH[,
        prefix=...])`` the state dict is taken from a ``state_dict`` or
        ``model`` container (or the top level), a ``module.`` prefix is
        stripped, and from full segmentor checkpoints only the
        ``backbone.`` keys are kept (or those under ``prefix``). Classifier
        keys of ImageNet checkpoints (``head.*``, the final ``norm.*``) are
        dropped; the per-stage output norms are then newly initialised and
        reported. Missing and unexpected keys are logged.
        """
        pretrained = (isinstance(self.init_cfg, dict)
                      and self.init_cfg.get('type') == 'Pretrained')
        if self.init_cfg is not None and not pretrained:
            return super().init_weights()
        # Random init first: what a checkpoint lacks keeps this init.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.)
        if not pretrained:
            return
        path = self.init_cfg['checkpoint']
        if '://' not in path and not osp.isfile(osp.expanduser(path)):
            raise FileNotFoundError(
                f'IwinTransformer: checkpoint {path!r} does not exist. '
                'Download an official Iwin checkpoint (ImageNet or ADE20K '
                'release) or set init_cfg=None to train from scratch; see '
                'docs/iwin.md.')
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu',
                                                logger='current')
        state_dict, classifier = self._backbone_state_dict(
            ckpt, self.init_cfg.get('prefix'), path)
        missing, unexpected = self.load_state_dict(state_dict, strict=False)
        num_loaded = len(state_dict) - len(unexpected)
        print_log(f'IwinTransformer: loaded {num_loaded} tensors from {path}',
                  logger='current')
        if missing:
            why = (' (expected: classification checkpoints have no per-stage '
                   'output norms)' if classifier else '')
            print_log(f'IwinTransformer: newly initialised{why}, not in the '
                      f'checkpoint: {", ".join(missing)}', logger='current',
                      level=logging.WARNING)
        if unexpected:
            print_log('IwinTransformer: ignored checkpoint keys (not in the '
                      f'model): {", ".join(unexpected)}', logger='current',
                      level=logging.WARNING)

    @staticmethod
    def _backbone_state_dict(ckpt: dict, prefix: Optional[str],
                             path: str) -> Tuple[dict, bool]:
        """Backbone tensors of a checkpoint, in this module's key names, and
        whether it is a classification checkpoint."""
        for container in ('state_dict', 'model'):
            if isinstance(ckpt, dict) and container in ckpt:
                ckpt = ckpt[container]
                break
        state = {(k[7:] if k.startswith('module.') else k): v
                 for k, v in ckpt.items()}
        if prefix is None and any(k.startswith('backbone.') for k in state):
            prefix = 'backbone.'
        if prefix:
            state = {k[len(prefix):]: v
                     for k, v in state.items() if k.startswith(prefix)}
        dropped = [k for k in state if k.startswith(CLASSIFIER_PREFIXES)]
        if dropped:
            print_log(f'IwinTransformer: {path} is a classification '
                      f'checkpoint; dropped classifier keys: '
                      f'{", ".join(dropped)}', logger='current')
        if not state or len(dropped) == len(state):
            raise KeyError(f'IwinTransformer: no backbone weights in {path} '
                           f'(prefix={prefix!r})')
        return {k: v for k, v in state.items() if k not in dropped}, \
            bool(dropped)
