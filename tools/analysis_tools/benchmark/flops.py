"""Analytic FLOPs of each benchmark case (the limit a time ratio can reach).

Counted: every matrix product and convolution, 2 FLOPs per multiply-add
(patch embedding, q/k/v/output projections, ``QK^T`` and ``AV``, MLPs, head
convolutions). Not counted: norms, activations, softmax, RoPE, resizing, the
loss and the optimizer (each linear in the tokens or pixels, or constant).
A training step is 3x its forward (the backward computes two products per
forward product). Formulas are per image; tiling multiplies by the passes.
"""
from typing import Dict, Iterable, Sequence, Tuple

Size = Tuple[int, int]


def vit_flops(grids: Sequence[Size], dim: int, layers: int,
              mlp_ratio: float = 4., patch: int = 16, in_chans: int = 3,
              window: int = 0, global_blocks: Iterable[int] = ()) -> float:
    """Forward FLOPs of the RoPE ViT on one image.

    Args:
        grids: token grids ``(h, w)`` of the image's windows (one grid for
            the whole image); all windows of an image attend together.
        dim: embedding width C.
        layers: number of blocks.
        mlp_ratio: MLP hidden / C.
        patch, in_chans: patch embedding ``in_chans * patch^2 -> C``.
        window: ViTDet window side (0: global attention everywhere); each
            grid is padded to a multiple of the window (shrunk to the grid
            on a shorter axis), and the q/k/v/output projections run on the
            padded tokens as in ViTDet.
        global_blocks: blocks that stay global with ``window``.
    """
    n = sum(h * w for h, w in grids)
    total = 2 * n * in_chans * patch * patch * dim
    mlp = 2 * 2 * mlp_ratio * dim * dim * n  # fc1 + fc2
    glob = 2 * 4 * dim * dim * n  # q/k/v + output projections
    local = 2 * 4 * dim * dim * _vitdet_tokens(grids, window)[0]
    gset = set(global_blocks)
    total += sum(mlp + (glob if not window or i in gset else local)
                 for i in range(layers))
    return total + vit_attention_flops(grids, dim, layers, window,
                                       global_blocks)


def _vitdet_tokens(grids: Sequence[Size], window: int) -> Tuple[int, int]:
    """ViTDet windows: ``(padded tokens, query-key pairs)`` over all grids
    (each grid padded to a multiple of the window, shrunk to the grid on a
    shorter axis); ``(0, 0)`` without a window."""
    padded, pairs = 0, 0
    for h, w in (grids if window else ()):
        wh, ww = min(window, h), min(window, w)
        hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
        padded += hp * wp
        pairs += (hp // wh) * (wp // ww) * (wh * ww) ** 2
    return padded, pairs


def attention_kernel_flops(n_q: int, n_k: int, dim: int) -> float:
    """FLOPs of the attention kernel alone (``QK^T`` and ``AV``, all heads
    of total width ``dim``) for ``n_q`` queries over ``n_k`` keys: the
    part SDPA computes, which the op profile times on its own."""
    return 2 * 2 * dim * n_q * n_k


def vit_attention_flops(grids: Sequence[Size], dim: int, layers: int,
                        window: int = 0,
                        global_blocks: Iterable[int] = ()) -> float:
    """The attention-kernel share of ``vit_flops`` (same arguments); the
    windows of an image attend together in a global block."""
    n = sum(h * w for h, w in grids)
    glob = attention_kernel_flops(n, n, dim)
    local = 2 * 2 * dim * _vitdet_tokens(grids, window)[1]
    gset = set(global_blocks)
    return sum(glob if not window or i in gset else local
               for i in range(layers))


def convnext_head_flops(grids: Sequence[Size], in_dim: int, channels: int,
                        num_convs: int, num_classes: int, factor: int = 4,
                        kernel: int = 7, mlp_ratio: float = 4.) -> float:
    """Forward FLOPs of ``ConvNeXtHead`` on per-window maps (one grid per
    window; the head sees each window as its own image).

    Per token: 1x1 projection to ``channels * factor^2``; per stride-4 pixel
    (``factor^2`` per token): ``num_convs`` blocks (depth-wise
    ``kernel^2``, two point-wise ``channels x mlp_ratio channels``) and the
    1x1 classifier."""
    n = sum(h * w for h, w in grids)
    pixels = n * factor * factor
    block = kernel * kernel * channels + 2 * mlp_ratio * channels * channels
    return 2 * (n * in_dim * channels * factor * factor
                + pixels * (num_convs * block + channels * num_classes))


def decoder_flops(n1: int, n2: int, in_dim: int, dim: int, layers: int,
                  mlp_ratio: float = 4.) -> float:
    """Forward FLOPs of ``RoPECrossDecoder``: embedding of both frames'
    tokens, then per block self-attention on the ``n1`` frame-1 tokens,
    cross-attention to the ``n2`` frame-2 tokens and the MLP."""
    embed = 2 * (n1 + n2) * in_dim * dim
    self_attn = 2 * 4 * dim * dim * n1
    cross = 2 * dim * dim * (2 * n1 + 2 * n2)
    mlp = 2 * 2 * mlp_ratio * dim * dim * n1
    return (embed + layers * (self_attn + cross + mlp)
            + decoder_attention_flops(n1, n2, dim, layers))


def decoder_attention_flops(n1: int, n2: int, dim: int, layers: int
                            ) -> float:
    """The attention-kernel share of ``decoder_flops``: self-attention over
    the frame-1 tokens and cross-attention to the frame-2 tokens."""
    return layers * (attention_kernel_flops(n1, n1, dim)
                     + attention_kernel_flops(n1, n2, dim))


def dpt_head_flops(grid: Size, in_dims: Sequence[int],
                   layer_dims: Sequence[int], channels: int, last_dim: int,
                   out_channels: int) -> float:
    """Forward FLOPs of ``WinDPTHead`` on one ``(h, w)`` token grid (padded
    to even, as the head does)."""
    h, w = grid[0] + grid[0] % 2, grid[1] + grid[1] % 2
    n = h * w
    F = channels
    pix = [16 * n, 4 * n, n, n // 4]  # strides 4, 8, 16, 32
    macs = 0
    for level, (c_in, d) in enumerate(zip(in_dims, layer_dims)):
        macs += n * c_in * d  # 1x1 projection on the token grid
        macs += {0: 16 * n * d * d, 1: 4 * n * d * d, 2: 0,
                 3: pix[3] * 9 * d * d}[level]  # resampling
        macs += pix[level] * 9 * d * F  # feature projection 3x3
    # Fusion: residual units (two 3x3 convs each; skip + path units except
    # at the deepest level), then a 1x1 conv after the 2x upsampling.
    for level in range(4):
        units = 1 if level == 3 else 2
        macs += units * 2 * pix[level] * 9 * F * F
        macs += 4 * pix[level] * F * F
    macs += 64 * n * 9 * F * (F // 2)  # head_conv1 at stride 2
    macs += 256 * n * 9 * (F // 2) * last_dim  # head_conv2 at stride 1
    macs += 256 * n * last_dim * out_channels  # conv_seg
    return 2 * macs


def seg_step_flops(grids: Sequence[Size], spec: Dict, train: bool,
                   window: int = 0, global_blocks: Iterable[int] = ()
                   ) -> float:
    """FLOPs of one image through backbone + ConvNeXt head (x3 to train).

    Args:
        grids: token grids of the image's windows (or the whole image).
        spec: ``dim``, ``layers``, ``mlp_ratio``, ``patch``, ``head_channels``,
            ``num_convs``, ``num_classes``.
        train: forward + backward (3x) instead of forward only.
        window, global_blocks: ViTDet-style attention (see ``vit_flops``).
    """
    f = vit_flops(grids, spec['dim'], spec['layers'], spec['mlp_ratio'],
                  spec['patch'], window=window, global_blocks=global_blocks)
    f += convnext_head_flops(grids, spec['dim'], spec['head_channels'],
                             spec['num_convs'], spec['num_classes'])
    return 3 * f if train else f


def flow_attention_flops(grid: Size, spec: Dict) -> float:
    """The attention-kernel share of ``flow_pass_flops`` (same arguments):
    the encoder's on both frames and the decoder's."""
    n = grid[0] * grid[1]
    return (2 * vit_attention_flops([grid], spec['dim'], spec['layers'])
            + decoder_attention_flops(n, n, spec['dec_dim'],
                                      spec['dec_layers']))


def flow_pass_flops(grid: Size, spec: Dict) -> float:
    """Forward FLOPs of one flow pass on a pair whose frames have the token
    grid ``grid``: encoder on both frames, decoder, DPT head.

    Args:
        spec: ``dim``, ``layers``, ``mlp_ratio``, ``patch``, ``dec_dim``,
            ``dec_layers``, ``head_in``, ``layer_dims``, ``head_channels``,
            ``last_dim``, ``out_channels``.
    """
    n = grid[0] * grid[1]
    f = 2 * vit_flops([grid], spec['dim'], spec['layers'], spec['mlp_ratio'],
                      spec['patch'])
    f += decoder_flops(n, n, spec['dim'], spec['dec_dim'], spec['dec_layers'],
                       spec['mlp_ratio'])
    f += dpt_head_flops(grid, spec['head_in'], spec['layer_dims'],
                        spec['head_channels'], spec['last_dim'],
                        spec['out_channels'])
    return f
