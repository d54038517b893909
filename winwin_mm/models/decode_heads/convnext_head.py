"""ConvNeXt decode head: the Win-Win paper's segmentation / depth head.

This is the "ConvNeXt adapter" of MultiMAE (Bachmann et al., 2022), which
CroCo and Win-Win use downstream: every token of the last backbone map is
projected to ``r * r`` sub-pixel feature vectors (a learned pixel shuffle from
stride 16 to stride 16 / r), then a few ConvNeXt blocks mix them spatially and
a 1x1 conv predicts the outputs. It only sees one feature map, so it is
unaware of windows: each window of the batch is just a small image.
"""
from typing import Sequence

import torch.nn as nn
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


def tokens_to_subpixels(x: Tensor, factor: int) -> Tensor:
    """Spread the ``factor**2`` sub-pixel vectors of each token on a grid.

    The channel layout is MultiMAE's: channel ``p * C + c`` holds channel
    ``c`` of sub-position ``p = i * factor + j`` (row ``i``, column ``j``
    inside the token). This differs from ``nn.PixelShuffle`` (``c`` outer,
    ``p`` inner) and is chosen so that MultiMAE / CroCo adapter weights
    (``proj_dec``) load without permuting their rows.

    Args:
        x (Tensor): ``(N, factor * factor * C, h, w)`` token map.
        factor (int): Sub-pixels per token side.

    Returns:
        Tensor: ``(N, C, factor * h, factor * w)``.
    """
    n, c_all, h, w = x.shape
    c = c_all // (factor * factor)
    x = x.view(n, factor, factor, c, h, w)  # N, i, j, C, h, w
    x = x.permute(0, 3, 4, 1, 5, 2)  # N, C, h, i, w, j
    return x.reshape(n, c, h * factor, w * factor)  # N, C, h*r, w*r


@MODELS.register_module()
class ConvNeXtHead(BaseDecodeHead):
    """ConvNeXt head (MultiMAE's ConvNeXt adapter) on one backbone map.

    ``(N, in_channels, h, w)`` at stride 16 -> 1x1 conv to
    ``channels * r * r`` -> sub-pixel shuffle -> ``(N, channels, r*h, r*w)``
    -> ``num_convs`` ConvNeXt blocks -> ``conv_seg`` ->
    ``(N, out_channels, r*h, r*w)``, i.e. stride 4 for ``r = 4``. mmseg's
    ``loss_by_feat`` / ``predict_by_feat`` resize that to the label / image
    size. Any ``h, w`` works (odd or tiny grids included); samples in the
    batch are independent (no batch statistics).

    Outputs: segmentation uses ``num_classes`` logits; regression (depth,
    flow) sets ``num_classes = out_channels = C`` (``BaseDecodeHead`` only
    accepts ``out_channels`` equal to ``num_classes`` or 1; with 1 channel
    pass ``threshold`` to silence its binary-segmentation warning) and a
    regression ``loss_decode``.

    Args:
        in_channels (int): Channels of the backbone map (768 for ViT-B).
        channels (int): Channels of the stride-4 ConvNeXt blocks. The paper
            (after MultiMAE) uses 384 for ViT-B, i.e. a 6144 = 384 * 16
            projection. Defaults to 384.
        num_convs (int): Number of ConvNeXt blocks. Defaults to 4.
        upsample_factor (int): ``r``, sub-pixels per token side. Defaults
            to 4 (stride 16 -> stride 4).
        kernel_size (int): Depth-wise kernel size of the blocks (odd).
            Defaults to 7.
        mlp_ratio (float): Hidden expansion of the blocks. Defaults to 4.
        drop_path_rate (float): Stochastic depth rate of every block.
            Defaults to 0.
        layer_scale_init_value (float): Initial layer-scale value of the
            blocks; 0 disables layer scale. Defaults to 1e-6.
        with_cp (bool): Gradient checkpointing in the blocks. Defaults to
            False.
        **kwargs: ``BaseDecodeHead`` arguments (``num_classes`` is
            required; ``out_channels``, ``loss_decode``, ``in_index``,
            ``align_corners``, ``init_cfg``, ...). ``dropout_ratio``
            defaults to 0 here because the reference head has no dropout.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int = 384,
                 num_convs: int = 4,
                 upsample_factor: int = 4,
                 kernel_size: int = 7,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 with_cp: bool = False,
                 **kwargs) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd to keep the map size, '
                             f'got {kernel_size}')
        if upsample_factor < 1:
            raise ValueError(
                f'upsample_factor must be >= 1, got {upsample_factor}')
        kwargs.setdefault('dropout_ratio', 0.)
        super().__init__(in_channels, channels, **kwargs)
        self.upsample_factor = upsample_factor
        # A 1x1 conv on the map == MultiMAE's per-token Linear ``proj_dec``.
        self.proj = nn.Conv2d(
            in_channels, channels * upsample_factor**2, kernel_size=1)
        self.blocks = nn.Sequential(*[
            ConvNeXtBlock(
                channels,
                dw_conv_cfg=dict(
                    kernel_size=kernel_size, padding=kernel_size // 2),
                mlp_ratio=mlp_ratio,
                drop_path_rate=drop_path_rate,
                layer_scale_init_value=layer_scale_init_value,
                with_cp=with_cp) for _ in range(num_convs)
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Predict stride-``16 / r`` outputs from the selected map.

        Args:
            inputs (Sequence[Tensor]): Backbone maps, each ``(N, C, h, w)``;
                ``in_index`` picks one (the last by default).

        Returns:
            Tensor: ``(N, out_channels, r * h, r * w)``.
        """
        x = self._transform_inputs(inputs)  # N, C_in, h, w
        x = self.proj(x)  # N, r*r*channels, h, w
        x = tokens_to_subpixels(x, self.upsample_factor)  # N, ch, r*h, r*w
        x = self.blocks(x)  # N, channels, r*h, r*w
        return self.cls_seg(x)  # N, out_channels, r*h, r*w
