"""Flow read out of a soft match between the two frames' encoder tokens."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ...structures import TokenLayout
from ..layers.rope import apply_rope_2d, rope_2d_tables
from ..losses import flow_valid_mask


@MODELS.register_module()
class MatchingFlowReadout(BaseModule):
    """Token flow = expected offset of each frame-1 token's match in frame 2
    (GMFlow's soft matching, as a readout beside CroCo-Flow's head).

    Both frames' encoder tokens are projected (one shared ``nn.Linear``)
    and L2-normalised; each frame-1 token takes a softmax of ``scale *
    cosine similarity`` over the frame-2 tokens of its pair within
    ``radius`` tokens (all the frame-2 windows in training, the whole frame
    at test) and over one learned *no-match* key (SuperGlue's dustbin),
    and its flow is the weighted mean of their offsets, the no-match key
    counting as offset 0. Why: CroCo's decoder must *learn* to turn what it
    attended to into an offset, which a small model trained from scratch on
    2 CPU cores does not manage (docs/flow_demo.md); here the offset is
    computed and only the features have to match (the flow demo uses it,
    with its matching loss and tokens that read 64x64 pixels). The
    no-match key lets a token whose match is hidden, outside the frame-2
    windows or ambiguous fall back to 0 (the head's own regression) instead
    of the mean position of unrelated tokens, and it means no token is
    ever without a key.

    The siamese encoder gives identical tokens to identical content, so
    even at initialisation the true match has one of the highest
    similarities; ``scale`` is learned (in log space, as CLIP's logit
    scale).

    Args:
        in_channels: encoder width.
        embed_dims: width of the matching features.
        patch_size: pixels per token (flows are returned in pixels).
        radius: only frame-2 tokens within this many tokens (Chebyshev
            distance) of the frame-1 token can match: the largest flow the
            readout can give is ``radius * patch_size`` px (the head can
            still add more). None = every frame-2 token (global matching).
        rope_base: None (the score is the features' cosine alone, so it
            does not depend on where the frame-2 token is, beyond
            ``radius``) or the frequency base of a 2-D RoPE applied to the
            normalised matching features (as the decoder's cross-attention
            does, CroCo's base 100). With RoPE the score can learn a prior
            over offsets, e.g. "near tokens are likelier matches", but only
            over the offsets seen in training: with ``radius=None`` this is
            the paper's "global interaction modeling" that a single
            training window cannot teach (its offsets never exceed the
            window; at test they span the frame). The rotation keeps the
            norms, so scores stay cosines. The no-match key is not rotated.
        init_scale: initial softmax scale of the cosine similarities.
        loss_weight: weight of :meth:`loss` in training (0: trained only
            through the flow loss). Why a loss of its own: through the flow
            loss alone the features learned to look alike (cosine 0.985 ±
            0.012 after 600 iterations of the flow demo: a uniform match,
            offset 0, is the quickest way to stop wrong matches from
            hurting); a cross-entropy on the true match (LoFTR's coarse
            matching loss) rewards telling tokens apart instead.
        init_cfg: initialisation config.
    """

    def __init__(self, in_channels: int, embed_dims: int = 64,
                 patch_size: int = 16, radius: Optional[int] = None,
                 rope_base: Optional[float] = None,
                 init_scale: float = 50., loss_weight: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not init_scale > 0:
            raise ValueError(f'init_scale must be > 0, got {init_scale}')
        if radius is not None and radius < 0:
            raise ValueError(f'radius must be >= 0 or None, got {radius}')
        if rope_base is not None and (embed_dims % 4 or not rope_base > 0):
            raise ValueError(
                f'rope_base={rope_base} needs rope_base > 0 and embed_dims '
                f'divisible by 4 (2-D RoPE), got embed_dims={embed_dims}')
        self.rope_base = rope_base
        self.patch_size = patch_size
        self.radius = radius
        self.loss_weight = float(loss_weight)
        self.proj = nn.Linear(in_channels, embed_dims)
        self.no_match = nn.Parameter(torch.randn(embed_dims))
        self.log_scale = nn.Parameter(torch.tensor(float(init_scale)).log())

    def forward(self, x1: Tensor, x2: Tensor, layout1: TokenLayout,
                layout2: TokenLayout) -> Tensor:
        """
        Args:
            x1: ``(B, N1, C_in)`` frame-1 encoder tokens.
            x2: ``(B, N2, C_in)`` frame-2 encoder tokens.
            layout1, layout2: their positions and padding masks.

        Returns:
            ``(B, N1, 2)`` flow ``(u, v)`` in pixels per frame-1 token.
        """
        B, N2 = x2.shape[:2]
        q, k, allowed = self._match_inputs(x1, x2, layout1, layout2)
        pos1 = layout1.positions.to(q.dtype)  # B, N1, 2 (row, col)
        pos2 = layout2.positions.to(q.dtype)  # B, N2, 2
        # Values: (row, col, 1) per frame-2 token, 0 for the no-match key,
        # so the output is (sum_j a_j p_j, sum_j a_j) over real tokens.
        v = torch.cat([pos2, pos2.new_ones(B, N2, 1)], dim=-1)  # B, N2, 3
        v = F.pad(v, (0, 0, 0, 1))  # B, N2+1, 3
        # SDPA with positions as values: no (N1, N2) weights kept where a
        # fused kernel applies (Full-HD ViT-B: 8160^2).
        out = F.scaled_dot_product_attention(
            q[:, None], k[:, None], v[:, None], attn_mask=allowed,
            scale=1.)[:, 0]  # B, N1, 3
        offset = out[..., :2] - out[..., 2:] * pos1  # B, N1, 2 (dy, dx)
        return offset.flip(-1) * self.patch_size  # B, N1, 2 (u, v) px

    def _match_inputs(self, x1: Tensor, x2: Tensor, layout1: TokenLayout,
                      layout2: TokenLayout):
        """Scaled queries ``(B, N1, D)``, keys with the no-match key last
        ``(B, N2+1, D)`` and which keys each query may use (``(B, 1, N1 |
        1, N2+1)`` bool, or None = all)."""
        B = x2.shape[0]
        q = F.normalize(self.proj(x1), dim=-1)  # B, N1, D
        k = F.normalize(self.proj(x2), dim=-1)  # B, N2, D
        if self.rope_base is not None:
            q = self._rotate(q, layout1)
            k = self._rotate(k, layout2)
        null = F.normalize(self.no_match, dim=0).to(k.dtype)
        k = torch.cat([k, null.expand(B, 1, -1)], dim=1)  # B, N2+1, D
        allowed = None  # B, N1 | 1, N2+1 (True = may match)
        if layout2.mask is not None:
            allowed = F.pad(layout2.mask, (0, 1), value=True)[:, None]
        if self.radius is not None:
            pos1, pos2 = layout1.positions, layout2.positions  # B, N, 2
            dist = (pos1[:, :, None] - pos2[:, None]).abs().amax(-1)
            near = F.pad(dist <= self.radius, (0, 1), value=True)
            allowed = near if allowed is None else allowed & near
        if allowed is not None:
            allowed = allowed[:, None]  # B, 1, N1 | 1, N2+1
        # The learned scale goes into q: SDPA's ``scale`` takes no tensor.
        return q * self.log_scale.exp(), k, allowed

    def _rotate(self, x: Tensor, layout: TokenLayout) -> Tensor:
        """2-D RoPE of ``(B, N, D)`` features at their token positions."""
        cos, sin = rope_2d_tables(layout.positions, x.shape[-1],
                                  self.rope_base, x.dtype)  # B, 1, N, D
        return apply_rope_2d(x[:, None], cos, sin)[:, 0]  # B, N, D

    def loss(self, x1: Tensor, x2: Tensor, layout1: TokenLayout,
             layout2: TokenLayout, target: Tensor, valid: Tensor) -> Tensor:
        """Cross-entropy of the match against the true one.

        The target distribution puts bilinear weights on the frame-2 tokens
        around ``p1 + target / patch_size``; a token whose match has less
        than half its weight on allowed frame-2 tokens (outside the
        windows, beyond ``radius``, out of frame) targets the no-match key.

        Args:
            x1, x2, layout1, layout2: as :meth:`forward`.
            target: ``(B, N1, 2)`` true flow (u, v) in pixels per frame-1
                token (e.g. the ground truth averaged over the token).
            valid: ``(B, N1)`` bool, tokens with a known target (padding
                tokens of frame 1 must be False).

        Returns:
            The mean over valid tokens times ``loss_weight``.
        """
        q, k, allowed = self._match_inputs(x1, x2, layout1, layout2)
        logits = q @ k.transpose(1, 2)  # B, N1, N2+1
        if allowed is not None:
            logits = logits.masked_fill(~allowed[:, 0], float('-inf'))
        logp = logits.float().log_softmax(-1)  # B, N1, N2+1
        pos1 = layout1.positions.float()  # B, N1, 2 (row, col)
        pos2 = layout2.positions.float()  # B, N2, 2
        goal = pos1 + target.float().flip(-1) / self.patch_size  # B, N1, 2
        near = (1 - (goal[:, :, None] - pos2[:, None]).abs()).clamp(min=0)
        weight = near.prod(-1)  # B, N1, N2 (bilinear)
        if allowed is not None:
            weight = weight * allowed[:, 0, :, :-1]
        mass = weight.sum(-1, keepdim=True)  # B, N1, 1
        found = mass > 0.5
        weight = torch.where(found, weight / mass.clamp(min=1e-6), 0.)
        weight = torch.cat([weight, (~found).float()], dim=-1)  # + no-match
        ce = -(weight * logp.clamp(min=-1e4)).sum(-1)  # B, N1
        valid = valid & torch.isfinite(ce)
        if not valid.any():
            return ce.sum() * 0.
        return ce[valid].mean() * self.loss_weight


def token_flow_targets(data_samples: SampleList, layout: TokenLayout,
                       patch_size: int) -> Tuple[Tensor, Tensor]:
    """Targets of :meth:`MatchingFlowReadout.loss`: the ground truth
    averaged over each frame-1 token of ``layout``.

    Args:
        data_samples: ``B`` samples with whole-frame ``gt_flow`` ``(2, H,
            W)`` (NaN = unknown) and optional ``gt_flow_valid`` ``(1, H,
            W)``.
        layout: the frame-1 tokens, ``positions`` ``(B, N1, 2)`` (row,
            col) in tokens and an optional ``(B, N1)`` padding mask.
        patch_size: pixels per token side.

    Returns:
        ``(B, N1, 2)`` mean flow per token and ``(B, N1)`` validity: more
        than half the token's pixels valid by the flow loss's rule, and a
        real token.
    """
    p = patch_size
    targets, valids = [], []
    for b, sample in enumerate(data_samples):
        gt = sample.gt_flow.data  # 2, H, W
        valid = (sample.gt_flow_valid.data[None]
                 if 'gt_flow_valid' in sample else None)
        ok = flow_valid_mask(gt[None], valid)[0]  # H, W
        H, W = gt.shape[-2:]
        pad = (0, -W % p, 0, -H % p)
        okf = F.pad(ok.float(), pad)[None]  # 1, H', W'
        flow = F.pad(torch.nan_to_num(gt) * ok, pad)  # 2, H', W'
        count = F.avg_pool2d(okf, p)  # 1, h, w (fraction valid)
        mean = F.avg_pool2d(flow, p) / count.clamp(min=1e-6)  # 2, h, w
        rows, cols = layout.positions[b].unbind(-1)  # N1 each
        rows = rows.clamp(max=mean.shape[1] - 1)
        cols = cols.clamp(max=mean.shape[2] - 1)
        targets.append(mean[:, rows, cols].T)  # N1, 2
        valids.append(count[0, rows, cols] > 0.5)  # N1
    valid = torch.stack(valids)  # B, N1
    if layout.mask is not None:
        valid = valid & layout.mask
    return torch.stack(targets), valid
