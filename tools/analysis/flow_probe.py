"""Probes of a flow model's ability to learn correspondence, and the
baseline it must beat.

``translation``: train a flow config's model on pairs that differ by one
random integer shift of a random texture (the easiest flow there is) and
report the EPE on held-out pairs against predicting zero flow::

    python tools/analysis/flow_probe.py translation \\
        configs/winwin/winwin-flow-cvc_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py \\
        --iters 300 --lr 1e-4 --windows

``attention``: on the config's validation pairs, where each decoder
cross-attention looks: per block and head, the correlation between its
soft arg-max offset (``sum_j a_ij (p_j - p_i)``, whole frames) and the true
flow averaged per token::

    python tools/analysis/flow_probe.py attention CONFIG [--checkpoint CKPT]

``tokens``: what matching at token resolution can give on the config's
validation pairs, with no model: per patch size, the EPE of zero flow, of
the ground truth averaged per token (the best flow that is constant over
each token, resized as ``MatchingFlowReadout``'s is) and of
``MatchingFlowReadout`` run on the raw pixel patches (mean-centred) as
features, per search radius. If the readout on pixels cannot beat zero
flow, the motions are too small or the textures too ambiguous at that
patch size for any token-level matching::

    python tools/analysis/flow_probe.py tokens CONFIG --patch 16 8 --radius 1 2 4

``zero``: the config's evaluator (``FlowMetric``) on a zero prediction for
every validation pair: the scores any flow model must beat (``make
demo-flow`` prints them beside the model's), as JSON after ``zero flow
metrics:``::

    python tools/analysis/flow_probe.py zero CONFIG

The model is built from the config (with its ``init_cfg``, e.g. a
cross-view-completion checkpoint), then ``--checkpoint`` is loaded on top.
"""
import argparse
import json
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmseg.utils import register_all_modules

import winwin_mm  # noqa: F401
from winwin_mm.datasets.generated.flow_scenes import texture
from winwin_mm.models.layers import apply_rope_2d
from winwin_mm.models.losses import flow_valid_mask
from winwin_mm.utils.checkpoint import mmengine_safe_globals


def build_model(cfg: Config, checkpoint: str = None) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with mmengine_safe_globals():
        model.init_weights()
        if checkpoint:
            load_checkpoint(model, checkpoint, map_location='cpu')
    return model


# ------------------------------------------------------------ translation
class TranslationPairs:
    """Frame 2 = frame 1 moved by an integer ``(dx, dy)`` drawn uniformly
    in ``[-max_shift, max_shift]``: ``flow = (dx, dy)`` at every pixel.

    Args:
        size: ``(H, W)`` of the frames.
        max_shift: largest shift per axis, pixels.
        num_textures: textures drawn once (seed 7), cropped per pair.
    """

    def __init__(self, size, max_shift: int, num_textures: int = 48) -> None:
        self.size, self.max_shift = size, max_shift
        rng = np.random.default_rng(7)
        pad = 2 * max_shift + 64  # room for the shift and a random crop
        self.bank = [np.clip(texture(rng, size[0] + pad, size[1] + pad), 0,
                             255).astype(np.uint8)
                     for _ in range(num_textures)]

    def __call__(self, rng: np.random.Generator) -> dict:
        H, W = self.size
        big = self.bank[rng.integers(len(self.bank))]
        d = rng.integers(-self.max_shift, self.max_shift + 1, 2)  # dx, dy
        x1, y1 = self.max_shift + rng.integers(0, 64, 2)
        x2, y2 = x1 - d[0], y1 - d[1]  # frame-1 pixel p is at p + d
        flow = np.broadcast_to(d.astype(np.float32), (H, W, 2)).copy()
        return dict(img=big[y1:y1 + H, x1:x1 + W],
                    img2=big[y2:y2 + H, x2:x2 + W], gt_flow=flow,
                    img_shape=(H, W), ori_shape=(H, W))


def windows_transform(cfg: Config):
    """The config's ``FlowGuidedWindows`` (None if it has none)."""
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'FlowGuidedWindows':
            return TRANSFORMS.build(t)
    return None


def translation(args, cfg: Config) -> None:
    size = tuple(cfg.train_dataloader.dataset.get('img_size', (256, 384)))
    model = build_model(cfg, args.checkpoint)
    cfg.optim_wrapper.optimizer.lr = args.lr
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lrs = [g['lr'] for g in optim.optimizer.param_groups]
    pairs = TranslationPairs(size, args.max_shift)
    window = windows_transform(cfg) if args.windows else None
    pack = TRANSFORMS.build(dict(type='PackFlowInputs'))
    rng = np.random.default_rng(0)
    start = time.time()
    model.train()
    for it in range(args.iters):
        batch = [pairs(rng) for _ in range(args.batch)]
        if window is not None:
            batch = [window(p) for p in batch]
        warm = min(1., (it + 1) / 50)  # the configs' linear warm-up
        for group, lr in zip(optim.optimizer.param_groups, base_lrs):
            group['lr'] = lr * warm
        logs = model.train_step(pseudo_collate([pack(p) for p in batch]),
                                optim)
        if it % 50 == 0 or it == args.iters - 1:
            print(f'iter {it + 1}/{args.iters}  loss '
                  f"{float(logs['loss'].detach()):.3f}  train EPE "
                  f"{float(logs['decode.epe'].detach()):.3f}  "
                  f'{time.time() - start:.0f} s', flush=True)
    model.eval()
    rng = np.random.default_rng(123)
    epe, zero = [], []
    with torch.no_grad():
        for _ in range(args.val_pairs):
            p = pairs(rng)
            out = model.test_step(pseudo_collate([pack(p)]))[0]
            pred = out.pred_flow.data.numpy().transpose(1, 2, 0)
            epe.append(np.linalg.norm(pred - p['gt_flow'], axis=-1).mean())
            zero.append(np.linalg.norm(p['gt_flow'], axis=-1).mean())
    print(f'translation probe: EPE {np.mean(epe):.3f} on {args.val_pairs} '
          f'whole held-out pairs; zero flow {np.mean(zero):.3f}')


# -------------------------------------------------------------- attention
def record_cross_attention(model) -> List[torch.Tensor]:
    """Forward pre-hooks that store each decoder cross-attention's weights
    ``(B, heads, Nq, Nk)`` (recomputed from its inputs, SDPA keeps none)."""
    store = []

    def hook(mod, args):
        x, context, rope, context_rope = args[:4]
        q = apply_rope_2d(mod._heads(mod.projq(x)), *rope)
        k = apply_rope_2d(mod._heads(mod.projk(context)), *context_rope)
        q = q * mod.temperature.view(1, -1, 1, 1)
        store.append(((q @ k.transpose(-2, -1)) * mod.scale).softmax(-1))

    for block in model.decoder.blocks:
        block.cross_attn.register_forward_pre_hook(hook)
    return store


def attention(args, cfg: Config) -> None:
    model = build_model(cfg, args.checkpoint).eval()
    store = record_cross_attention(model)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    patch = model.backbone.patch_size
    for idx in range(0, len(dataset), max(1, len(dataset) // args.pairs)):
        item = dataset[idx]
        store.clear()
        with torch.no_grad():
            batch = model.data_preprocessor(pseudo_collate([item]), False)
            model.predict(batch['inputs'], batch['data_samples'])
        gt = item['data_samples'].gt_flow.data.numpy()  # 2, H, W
        h, w = gt.shape[1] // patch, gt.shape[2] // patch
        gt = gt[:, :h * patch, :w * patch].reshape(
            2, h, patch, w, patch).mean((2, 4)) / patch  # 2, h, w tokens
        ys, xs = (torch.from_numpy(a.ravel()).float()
                  for a in np.mgrid[0:h, 0:w])
        rows = []
        for b, attn in enumerate(store):
            attn = attn[0]  # heads, Nq, Nk (whole frames: the token grid)
            off = {'x': attn @ xs - xs, 'y': attn @ ys - ys}  # heads, Nq
            corr: Dict[str, list] = {
                axis: [float(np.corrcoef(o.numpy(), gt[i].ravel())[0, 1])
                       for o in off[axis]]
                for i, axis in enumerate('xy')}
            rows.append(f"block {b}: x {np.round(corr['x'], 2).tolist()} "
                        f"y {np.round(corr['y'], 2).tolist()}")
        mag = np.hypot(*gt).mean()
        print(f'pair {idx} (mean |flow| {mag * patch:.1f} px): '
              'correlation of soft arg-max offset with true flow, per head:')
        for row in rows:
            print('   ', row)


# ----------------------------------------------------------------- tokens
def pixel_token_flow(frames: torch.Tensor, patch: int,
                     radius: Optional[int], scale: float) -> torch.Tensor:
    """``MatchingFlowReadout`` with the raw pixel patches as features.

    Args:
        frames: ``(6, H, W)`` frame 1 then frame 2 (cropped to multiples of
            ``patch``).
        patch: token size in pixels.
        radius: search radius in tokens (None: every token).
        scale: softmax scale of the cosine similarities.

    Returns:
        ``(2, H / patch, W / patch)`` flow (u, v) in pixels per token.
    """
    from winwin_mm.models.decoders import MatchingFlowReadout
    from winwin_mm.models.layers.window_tokens import grid_positions
    from winwin_mm.structures import TokenLayout
    H, W = (s // patch * patch for s in frames.shape[-2:])
    h, w = H // patch, W // patch
    feats = []
    for f in (frames[None, :3, :H, :W], frames[None, 3:, :H, :W]):
        t = F.unfold(f.float(), patch, stride=patch).transpose(1, 2)
        feats.append(t - t.mean(-1, keepdim=True))  # 1, h*w, 3 p^2
    dims = feats[0].shape[-1]
    readout = MatchingFlowReadout(dims, dims, patch, radius, scale)
    readout.proj = torch.nn.Identity()  # the pixels are the features
    lay = TokenLayout(grid_positions(h, w)[None], None, [[(h, w)]],
                      whole=True)
    with torch.no_grad():
        flow = readout(feats[0], feats[1], lay, lay)  # 1, h*w, 2
    return flow[0].T.reshape(2, h, w)


def token_epe(flow: torch.Tensor, gt: torch.Tensor,
              valid: torch.Tensor) -> float:
    """Mean EPE over ``valid`` pixels of a ``(2, h, w)`` token flow resized
    bilinearly (as the flow model does) to the ``(2, H, W)`` ``gt``."""
    up = F.interpolate(flow[None], size=gt.shape[-2:], mode='bilinear',
                       align_corners=False)[0]
    return float((up - gt).norm(dim=0)[valid].mean())


def tokens(args, cfg: Config) -> None:
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    step = max(1, len(dataset) // args.pairs)
    rows: Dict[str, List[float]] = {}
    for idx in range(0, len(dataset), step):
        item = dataset[idx]
        frames = item['inputs']  # 6, H, W
        sample = item['data_samples']
        gt = sample.gt_flow.data  # 2, H, W
        valid = flow_valid_mask(  # H, W: the flow loss's and metric's rule
            gt[None], sample.gt_flow_valid.data[None]
            if 'gt_flow_valid' in sample else None)[0]
        gt = torch.nan_to_num(gt)
        rows.setdefault('zero flow', []).append(
            float(gt.norm(dim=0)[valid].mean()))
        for p in args.patch:
            H, W = (s // p * p for s in gt.shape[-2:])
            mean = F.avg_pool2d(gt[None, :, :H, :W], p)[0]  # 2, h, w
            rows.setdefault(f'patch {p}: ground truth averaged per token',
                            []).append(token_epe(mean, gt, valid))
            for r in args.radius:
                flow = pixel_token_flow(frames, p, r, args.scale)
                rows.setdefault(f'patch {p}: readout on pixels, radius {r}',
                                []).append(token_epe(flow, gt, valid))
    print(f"EPE on {len(rows['zero flow'])} validation pairs of "
          f'{args.config}:')
    for name, values in rows.items():
        print(f'  {name:48s} {np.mean(values):8.3f}')


# ------------------------------------------------------------------- zero
def zero(args, cfg: Config) -> None:
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    for idx in range(len(dataset)):
        sample = dataset[idx]['data_samples']
        sample.pred_flow = PixelData(
            data=torch.zeros_like(sample.gt_flow.data))  # 2, H, W
        metric.process([], [sample.to_dict()])
    result = metric.compute_metrics(metric.results)
    print('zero flow metrics: ' + json.dumps(result))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='probe', required=True)
    for name in ('translation', 'attention', 'tokens', 'zero'):
        p = sub.add_parser(name)
        p.add_argument('config')
        p.add_argument('--checkpoint', help='weights loaded after init')
        p.add_argument('--cfg-options', nargs='+', action=DictAction)
        if name == 'translation':
            p.add_argument('--iters', type=int, default=300)
            p.add_argument('--batch', type=int, default=4)
            p.add_argument('--lr', type=float, default=1e-4)
            p.add_argument('--max-shift', type=int, default=20)
            p.add_argument('--windows', action='store_true',
                           help="train on the config's FlowGuidedWindows "
                           '(default: whole frames)')
            p.add_argument('--val-pairs', type=int, default=8)
        elif name == 'attention':
            p.add_argument('--pairs', type=int, default=3,
                           help='validation pairs, evenly spaced')
        elif name == 'tokens':
            p.add_argument('--pairs', type=int, default=9,
                           help='validation pairs, evenly spaced')
            p.add_argument('--patch', type=int, nargs='+', default=[16])
            p.add_argument('--radius', type=int, nargs='+', default=[1, 2, 4])
            p.add_argument('--scale', type=float, default=30.,
                           help='softmax scale of the cosine similarities')
    return parser.parse_args()


def main():
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    probes = {'translation': translation, 'attention': attention,
              'tokens': tokens, 'zero': zero}
    probes[args.probe](args, cfg)


if __name__ == '__main__':
    main()
