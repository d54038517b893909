"""CroCo's pretext task: cross-view completion on image pairs.

CroCo-Flow (and so Win-Win's flow model) starts from an encoder and a
binocular decoder pretrained to rebuild the hidden tokens of frame 1 from
its few visible tokens and the whole frame 2. Rebuilding a hidden patch is
easiest by copying frame 2 where that patch moved to, so the decoder's
cross-attention learns correspondence with a dense, direct signal; flow
fine-tuning then only has to read the displacement out. Trained from
scratch on flow alone the cross-attention stays nearly uniform for
thousands of steps (the flow loss does not tell it where to look).

Weights keep the flow model's names (``backbone.*``, ``decoder.*``), so a
checkpoint of this model initialises ``WinWinFlowEstimator`` through the
parts' ``init_cfg`` (see ``configs/winwin/winwin-flow_*``).
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.model.weight_init import trunc_normal_
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor


def patchify(images: Tensor, patch_size: int) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, L, p * p * C)`` row-major tokens, each the
    ``(i, j, c)``-ordered pixels of one patch."""
    B, C, H, W = images.shape
    p = patch_size
    x = images.reshape(B, C, H // p, p, W // p, p)  # B, C, h, i, w, j
    x = x.permute(0, 2, 4, 3, 5, 1)  # B, h, w, i, j, C
    return x.reshape(B, (H // p) * (W // p), p * p * C)


def unpatchify(tokens: Tensor, h: int, w: int, patch_size: int) -> Tensor:
    """Inverse of :func:`patchify`: ``(B, h * w, p * p * C)`` ->
    ``(B, C, h * p, w * p)``."""
    B, _, D = tokens.shape
    p = patch_size
    C = D // (p * p)
    x = tokens.reshape(B, h, w, p, p, C).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(B, C, h * p, w * p)  # B, C, h, i, w, j -> image


@MODELS.register_module()
class CrossViewCompletion(BaseModel):
    """Rebuild the masked tokens of frame 1 from its visible tokens and
    frame 2 (CroCo, Weinzaepfel et al. 2022; v2 with RoPE).

    Inputs are the flow model's ``(B, 6, H, W)`` pairs from
    ``FlowDataPreProcessor`` (the flow ground truth, if packed, is unused).
    Per pair a random ``1 - mask_ratio`` of frame 1's tokens stays visible:
    the ``backbone`` encodes them (as 1x1-token windows at their true
    positions) and the whole frame 2; the ``decoder`` input is frame 1's full
    grid, a learned mask token where the token is hidden; a linear
    ``prediction_head`` maps each decoder token to its patch's pixels. The
    loss is the mean squared error on the hidden patches, against pixels
    normalised per patch (``norm_pix_loss``, as CroCo and MAE).

    Example::

        model = dict(
            type='CrossViewCompletion',
            data_preprocessor=dict(type='FlowDataPreProcessor'),
            backbone=dict(type='RoPEVisionTransformer', arch='b',
                          out_indices=(11, ), init_cfg=None),
            decoder=dict(type='RoPECrossDecoder', in_channels=768,
                         out_indices=(11, )),
            mask_ratio=0.9)

    Args:
        backbone: a ``RoPEVisionTransformer`` config whose ``out_indices``
            include its last block.
        decoder: a ``RoPECrossDecoder`` config whose ``out_indices`` include
            its last block.
        data_preprocessor: e.g. ``dict(type='FlowDataPreProcessor')``.
        mask_ratio: fraction of frame-1 tokens hidden (CroCo: 0.9).
        norm_pix_loss: normalise each target patch by its own mean and std.
        init_cfg: initialisation config of the whole model.
    """

    def __init__(self, backbone: dict, decoder: dict,
                 data_preprocessor: Optional[dict] = None,
                 mask_ratio: float = 0.9, norm_pix_loss: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not 0. <= mask_ratio < 1.:
            raise ValueError(f'mask_ratio must be in [0, 1), got '
                             f'{mask_ratio}')
        self.mask_ratio = float(mask_ratio)
        self.norm_pix_loss = norm_pix_loss
        self.backbone = MODELS.build(backbone)
        self.decoder = MODELS.build(decoder)
        bb, dec = self.backbone, self.decoder
        if bb.num_layers - 1 not in bb.out_indices:
            raise ValueError('CrossViewCompletion: backbone.out_indices must '
                             f'include the last block ({bb.num_layers - 1}); '
                             f'got {bb.out_indices}')
        if dec.num_layers - 1 not in dec.out_indices:
            raise ValueError('CrossViewCompletion: decoder.out_indices must '
                             f'include the last block ({dec.num_layers - 1});'
                             f' got {dec.out_indices}')
        if dec.decoder_embed.in_features != bb.embed_dims:
            raise ValueError(f'decoder.in_channels='
                             f'{dec.decoder_embed.in_features} must equal the '
                             f'backbone width {bb.embed_dims}')
        self.patch_size = int(bb.patch_size)
        # In the encoder's width: the decoder's embedding maps it like the
        # visible tokens (CroCo keeps it in the decoder's width; a linear
        # map of a free vector is an equally free vector).
        self.mask_token = nn.Parameter(torch.zeros(1, 1, bb.embed_dims))
        self.prediction_head = nn.Linear(dec.embed_dims,
                                         self.patch_size ** 2 * 3)

    def init_weights(self) -> None:
        super().init_weights()
        trunc_normal_(self.mask_token, std=.02)

    # ------------------------------------------------------------- masking
    def random_visible(self, batch: int, h: int, w: int,
                       device: torch.device) -> Tensor:
        """``(B, K)`` sorted indices of visible tokens in the ``h x w`` grid,
        ``K = max(1, round((1 - mask_ratio) * h * w))`` (torch's RNG, so
        mmengine's seed fixes them)."""
        L = h * w
        K = max(1, round((1. - self.mask_ratio) * L))
        noise = torch.rand(batch, L, device=device)  # B, L
        return noise.argsort(dim=1)[:, :K].sort(dim=1).values  # B, K

    def _boxes(self, visible: Tensor, w: int) -> Tensor:
        """Pixel boxes ``(B, K, 4)`` of 1x1-token windows (the backbone's
        window format)."""
        p = self.patch_size
        x1, y1 = (visible % w) * p, (visible // w) * p  # B, K
        return torch.stack([x1, y1, x1 + p, y1 + p], dim=-1)

    # ------------------------------------------------------------- forward
    def reconstruct(self, inputs: Tensor,
                    visible: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """
        Args:
            inputs: ``(B, 6, H, W)`` normalised pairs, ``H, W`` multiples of
                the patch size.
            visible: ``(B, K)`` visible token indices (random if None).

        Returns:
            Predicted patches ``(B, L, p * p * 3)`` of frame 1 and the
            ``(B, L)`` bool mask of hidden tokens.
        """
        B, _, H, W = inputs.shape
        p = self.patch_size
        if H % p or W % p:
            raise ValueError(f'CrossViewCompletion: inputs {H}x{W} are not '
                             f'multiples of the patch size {p}; set the data '
                             f'preprocessor size_divisor={p}')
        h, w = H // p, W // p
        if visible is None:
            visible = self.random_visible(B, h, w, inputs.device)
        tok1, _ = self.backbone.forward_tokens(inputs[:, :3],
                                               self._boxes(visible, w))
        tok2, layout2 = self.backbone.forward_tokens(inputs[:, 3:])
        seen = tok1[-1]  # B, K, C (window order = index order)
        C = seen.shape[-1]
        x1 = self.mask_token.expand(B, h * w, C).clone()  # B, L, C
        x1 = x1.scatter(1, visible[..., None].expand(-1, -1, C), seen)
        # Frame 1's full grid has frame 2's layout (same size, whole).
        dec = self.decoder(x1, tok2[-1], layout2, layout2)[-1]  # B, L, D
        hidden = torch.ones(B, h * w, dtype=torch.bool, device=inputs.device)
        hidden[torch.arange(B, device=inputs.device)[:, None], visible] = False
        return self.prediction_head(dec), hidden  # B, L, p*p*3; B, L

    def target(self, frame1: Tensor) -> Tensor:
        """``(B, L, p * p * 3)`` patches of frame 1, normalised per patch
        when ``norm_pix_loss``."""
        t = patchify(frame1, self.patch_size)
        if self.norm_pix_loss:
            mean = t.mean(dim=-1, keepdim=True)
            var = t.var(dim=-1, keepdim=True)
            t = (t - mean) / (var + 1e-6).sqrt()
        return t

    def loss(self, inputs: Tensor) -> Dict[str, Tensor]:
        """``loss_cvc``: mean squared error over the hidden patches."""
        pred, hidden = self.reconstruct(inputs)
        err = (pred - self.target(inputs[:, :3])).pow(2).mean(dim=-1)  # B, L
        return dict(loss_cvc=err[hidden].mean())

    def forward(self, inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor'):
        """``mode='loss'``: ``dict(loss_cvc=...)``; ``'tensor'``: the
        predicted patches ``(B, L, p * p * 3)``; ``'predict'``: data samples
        with ``pred_recon`` ``(3, H, W)``, frame 1 rebuilt (hidden patches
        predicted, in the target's normalisation; visible ones too)."""
        if mode == 'loss':
            return self.loss(inputs)
        pred, _ = self.reconstruct(inputs)
        if mode == 'tensor':
            return pred
        if mode == 'predict':
            h, w = (s // self.patch_size for s in inputs.shape[-2:])
            images = unpatchify(pred, h, w, self.patch_size)  # B, 3, H, W
            data_samples = data_samples or [SegDataSample() for _ in images]
            for sample, img in zip(data_samples, images):
                sample.set_data(dict(pred_recon=PixelData(data=img)))
            return data_samples
        raise ValueError(f"mode must be 'loss', 'tensor' or 'predict', got "
                         f'{mode!r}')
