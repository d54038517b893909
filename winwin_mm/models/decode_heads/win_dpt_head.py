"""DPT decode head as used by CroCo-Flow (and Win-Win for optical flow).

Named ``WinDPTHead`` so it does not collide with mmseg's ``DPTHead`` (which
expects ``[feature, cls_token]`` pairs). It reads four backbone maps that all
sit on the same stride-16 token grid, reassembles them to strides 4, 8, 16
and 32, fuses them coarse-to-fine with four refine blocks and regresses (or
classifies) at stride 1. Like every head here it is unaware of windows.

Odd grids: the stride-32 level halves the token grid and the fusion doubles
it back, so the grid must be even. ``forward`` pads the maps right/bottom
with zeros to an even number of tokens and crops the output back to
``16 h x 16 w`` pixels; a grid that is already even is not touched, so the
result there is exactly the unpadded computation.

Weights of CroCo's ``DPTOutputAdapter`` load 1:1 after
``winwin_mm.utils.croco.convert_croco_dpt_state_dict``.
"""
from typing import List, Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


def _upsample2x(x: Tensor) -> Tensor:
    """``(N, C, h, w) -> (N, C, 2h, 2w)``, bilinear, ``align_corners=True``
    as in DPT / CroCo."""
    return F.interpolate(
        x, scale_factor=2, mode='bilinear', align_corners=True)


class Reassemble(nn.Module):
    """1x1 conv to ``out_channels``, then resample the stride-16 map.

    Args:
        in_channels (int): Channels of the backbone map.
        out_channels (int): ``layer_dims[i]``.
        level (int): 0..3 for strides 4, 8, 16, 32: transposed conv k4 s4,
            transposed conv k2 s2, identity, conv 3x3 stride 2.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 level: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        if level == 0:
            self.resample = nn.ConvTranspose2d(
                out_channels, out_channels, kernel_size=4, stride=4)
        elif level == 1:
            self.resample = nn.ConvTranspose2d(
                out_channels, out_channels, kernel_size=2, stride=2)
        elif level == 2:
            self.resample = nn.Identity()
        elif level == 3:
            self.resample = nn.Conv2d(
                out_channels, out_channels, kernel_size=3, stride=2,
                padding=1)
        else:
            raise ValueError(f'level must be in 0..3, got {level}')

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, h, w) -> (N, C_out, h * 4 / 2**level, ...)``."""
        return self.resample(self.proj(x))


class ResidualConvUnit(nn.Module):
    """``x + conv2(relu(conv1(relu(x))))`` with 3x3 convs, no norm.

    Args:
        channels (int): Input and output channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, h, w) -> (N, C, h, w)``."""
        # Not in place: ``x`` is still needed for the skip.
        out = self.conv1(F.relu(x))
        out = self.conv2(F.relu(out))
        return x + out


class FusionBlock(nn.Module):
    """DPT refine block: ``out_conv(up2x(path_unit(path + skip_unit(skip))))``.

    Args:
        channels (int): Feature channels (DPT's ``feature_dim``).
        with_skip (bool): Whether a lateral (skip) map is added. The deepest
            block has none, so it has no ``skip_unit`` (CroCo's module has
            one that its forward never uses; it is dropped on conversion so
            that every parameter here receives a gradient).
    """

    def __init__(self, channels: int, with_skip: bool = True) -> None:
        super().__init__()
        self.skip_unit = ResidualConvUnit(channels) if with_skip else None
        self.path_unit = ResidualConvUnit(channels)
        self.out_conv = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, path: Tensor, skip: Optional[Tensor] = None) -> Tensor:
        """``(N, C, h, w)`` (+ same-shape skip) -> ``(N, C, 2h, 2w)``."""
        if skip is not None:
            path = path + self.skip_unit(skip)
        return self.out_conv(_upsample2x(self.path_unit(path)))


@MODELS.register_module()
class WinDPTHead(BaseDecodeHead):
    """CroCo-Flow's DPT head on four stride-16 maps of any size.

    ``maps[i] (N, in_channels[i], h, w)`` -> :class:`Reassemble` to
    ``layer_dims[i]`` at strides 4, 8, 16, 32 -> ``feature_projs`` (3x3,
    no bias) to ``channels`` -> four :class:`FusionBlock` from stride 32 to
    stride 2 -> ``head_conv1`` (3x3, ``channels // 2``) -> x2 bilinear ->
    ``head_conv2`` (3x3, ``last_dim``) -> ReLU -> ``conv_seg`` (1x1) ->
    ``(N, out_channels, 16 h, 16 w)``: stride 1 for patch-16 tokens.

    Outputs: segmentation uses ``num_classes`` logits; regression sets
    ``num_classes = out_channels = C`` (3 for CroCo-Flow: u, v and a
    confidence; ``BaseDecodeHead`` only accepts ``out_channels`` equal to
    ``num_classes`` or 1) and a regression ``loss_decode``.

    Args:
        in_channels (Sequence[int]): Channels of the four maps, e.g.
            ``[768] * 4`` for ViT-B ``out_indices=(2, 5, 8, 11)``; for
            CroCo-Flow the encoder dim then three times the decoder dim.
        channels (int): DPT's ``feature_dim``. Defaults to 256 (CroCo).
        layer_dims (Sequence[int]): Channels after reassembly, per stride
            4, 8, 16, 32. Defaults to ``(96, 192, 384, 768)`` (CroCo).
        last_dim (int): Channels fed to ``conv_seg``. Defaults to 32
            (CroCo's default).
        in_index (Sequence[int]): Which backbone outputs are the four maps.
            Defaults to ``(0, 1, 2, 3)``.
        **kwargs: ``BaseDecodeHead`` arguments (``num_classes`` is
            required; ``out_channels``, ``loss_decode``, ``init_cfg``, ...).
            ``dropout_ratio`` defaults to 0 here (CroCo's head has none).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 layer_dims: Sequence[int] = (96, 192, 384, 768),
                 last_dim: int = 32,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 **kwargs) -> None:
        if len(in_channels) != 4 or len(layer_dims) != 4:
            raise ValueError('WinDPTHead needs exactly 4 in_channels and 4 '
                             f'layer_dims, got {in_channels}, {layer_dims}')
        kwargs.setdefault('dropout_ratio', 0.)
        super().__init__(
            list(in_channels), channels, in_index=list(in_index),
            input_transform='multiple_select', **kwargs)
        self.reassemble = nn.ModuleList(
            Reassemble(c_in, dim, level)
            for level, (c_in, dim) in enumerate(zip(in_channels, layer_dims)))
        self.feature_projs = nn.ModuleList(
            nn.Conv2d(dim, channels, 3, padding=1, bias=False)
            for dim in layer_dims)
        # fusions[i] works at level i (stride 4 * 2**i) and outputs at half
        # that stride; the deepest one starts the path, so it has no skip.
        self.fusions = nn.ModuleList(
            FusionBlock(channels, with_skip=level < 3) for level in range(4))
        self.head_conv1 = nn.Conv2d(channels, channels // 2, 3, padding=1)
        self.head_conv2 = nn.Conv2d(channels // 2, last_dim, 3, padding=1)
        # BaseDecodeHead built conv_seg on ``channels``; DPT ends on last_dim.
        self.conv_seg = nn.Conv2d(last_dim, self.out_channels, kernel_size=1)

    def decode(self, maps: List[Tensor]) -> Tensor:
        """Features before ``conv_seg`` for maps on an even token grid.

        Args:
            maps (list[Tensor]): Four ``(N, C_i, h, w)`` maps, ``h, w`` even.

        Returns:
            Tensor: ``(N, last_dim, 16 h, 16 w)``.
        """
        feats = [
            proj(reassemble(x)) for x, reassemble, proj in zip(
                maps, self.reassemble, self.feature_projs)
        ]  # level i: N, channels, 4h / 2**i, 4w / 2**i
        path = self.fusions[3](feats[3])  # N, channels, h, w
        for level in (2, 1, 0):
            path = self.fusions[level](path, feats[level])
        # path: N, channels, 8h, 8w (stride 2)
        x = _upsample2x(self.head_conv1(path))  # N, channels//2, 16h, 16w
        return F.relu(self.head_conv2(x))  # N, last_dim, 16h, 16w

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Pad to an even grid, decode, crop back, classify/regress.

        Args:
            inputs (Sequence[Tensor]): Backbone maps; ``in_index`` picks
                four ``(N, C_i, h, w)`` maps on the same token grid.

        Returns:
            Tensor: ``(N, out_channels, 16 h, 16 w)``.
        """
        maps = self._transform_inputs(inputs)
        h, w = maps[0].shape[-2:]
        if any(x.shape[-2:] != (h, w) for x in maps):
            raise ValueError('WinDPTHead needs four maps on one token grid, '
                             f'got {[tuple(x.shape) for x in maps]}')
        pad_h, pad_w = h % 2, w % 2
        # Zeros right/bottom: the extra tokens only touch the border pixels
        # that the crop below removes (plus conv receptive field). Padded
        # unconditionally (by 0 on even grids): a branch on the parity
        # would tie an ONNX export (torch.export) to the example's parity.
        maps = [F.pad(x, (0, pad_w, 0, pad_h)) for x in maps]
        feat = self.decode(maps)  # N, last_dim, 16(h+pad_h), 16(w+pad_w)
        feat = feat[..., :16 * h, :16 * w]  # N, last_dim, 16h, 16w
        return self.cls_seg(feat)  # N, out_channels, 16h, 16w
