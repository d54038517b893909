"""Per-token linear head: the only head that trains on isolated tokens.

A convolutional head cannot run on scattered tokens (paper Appendix C: the
output of random tokens is 'a-trous'), so the random-token (MAE-style)
baseline predicts every pixel of a token from that token alone: one linear
layer maps each token to the ``r x r`` sub-pixels it covers. Trained on
``RandomWindows(window_size=1, num_windows=N)`` (N windows of one token each,
the labels cropped per token by ``WinWinEncoderDecoder``), it sees
``(N_total, C, 1, 1)`` maps; at test the whole image's ``(B, C, h, w)``.
"""
from typing import Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from .convnext_head import tokens_to_subpixels


@MODELS.register_module()
class TokenLinearHead(BaseDecodeHead):
    """One linear map per token to its ``r x r`` sub-pixel logits.

    ``(N, in_channels, h, w)`` -> LayerNorm over channels ->
    linear (a 1x1 conv, ``conv_seg``) to ``out_channels * r * r`` ->
    sub-pixel shuffle -> ``(N, out_channels, r*h, r*w)``. No spatial mixing:
    the output of a token depends on that token only, so a batch of
    isolated tokens (``h = w = 1``) trains exactly what runs on the whole
    image at test.

    Args:
        in_channels: Channels of the backbone map.
        upsample_factor: ``r``, sub-pixels per token side; the patch size
            (16) predicts every pixel at full resolution.
        **kwargs: ``BaseDecodeHead`` arguments (``num_classes`` required;
            ``loss_decode``, ``in_index``, ``align_corners``, ...).
            ``channels`` is unused (there is no hidden layer) and set to
            ``in_channels``; ``dropout_ratio`` defaults to 0.
    """

    def __init__(self,
                 in_channels: int,
                 upsample_factor: int = 16,
                 **kwargs) -> None:
        if upsample_factor < 1:
            raise ValueError(
                f'upsample_factor must be >= 1, got {upsample_factor}')
        kwargs.setdefault('dropout_ratio', 0.)
        kwargs['channels'] = in_channels
        super().__init__(in_channels, **kwargs)
        self.upsample_factor = upsample_factor
        self.norm = nn.LayerNorm(in_channels)
        # The per-token linear layer (replaces BaseDecodeHead's 1x1 conv).
        self.conv_seg = nn.Conv2d(
            in_channels, self.out_channels * upsample_factor**2, 1)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """
        Args:
            inputs: Backbone maps, each ``(N, C, h, w)``; ``in_index``
                picks one.

        Returns:
            ``(N, out_channels, r * h, r * w)``.
        """
        x = self._transform_inputs(inputs)  # N, C, h, w
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.conv_seg(self.dropout(x) if self.dropout else x)
        return tokens_to_subpixels(x, self.upsample_factor)  # N, K, rh, rw
