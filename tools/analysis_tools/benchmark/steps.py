"""What one timed repetition of each case runs.

Training: the whole mmengine step of the real model: data preprocessor,
forward with loss, backward, AdamW update of the config's optimizer (layer-wise
lr decay). Inference: the segmentor's ``test_step`` (preprocess, whole or
slide inference, post-processing) and the flow model's whole pass or
CroCo-Flow tiling.
"""
import contextlib
import math
from typing import Callable, Dict, Tuple

import torch

from winwin_mm.models.segmentors.flow_tiling import tile_boxes, tiled_flow
from .cases import SCALES, Case, window_boxes
from .models import build, flow_config, flow_pairs, seg_batch, seg_config

AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def autocast(device: str, amp: str):
    """``torch.autocast`` for ``--amp`` (a null context without it)."""
    if not amp:
        return contextlib.nullcontext()
    if device == 'cpu' and amp == 'fp16':
        raise ValueError('--amp fp16 needs CUDA (no loss scaling on CPU); '
                         'use --amp bf16 on CPU')
    return torch.autocast(device, dtype=AMP_DTYPES[amp])


def compile_blocks(model: torch.nn.Module, opts: Dict) -> int:
    """With ``opts['compile']``: ``torch.compile`` every transformer block
    (``RoPEBlock``, ``RoPECrossBlock``) in place, and return how many.

    Blocks, not the whole model: the segmentor's loss and the backbone's
    window gathering are Python over data samples and boxes (graph breaks,
    recompiles per window set); the blocks hold the matrix products and the
    element-wise work around them (norms, RoPE, GELU, residuals) that
    Inductor can fuse. Module names stay as they are (``breakdown.py``'s
    hooks still find them).
    """
    if not opts.get('compile'):
        return 0
    from winwin_mm.models.layers import RoPEBlock, RoPECrossBlock
    blocks = [m for m in model.modules()
              if isinstance(m, (RoPEBlock, RoPECrossBlock))]
    # Each block's drop-path probability is a constant of its graph (the
    # rate grows with depth), so every block compiles once: Dynamo's
    # default limit of 8 graphs per code object would leave the deeper
    # blocks eager.
    import torch._dynamo.config as dynamo_config
    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit,
                                        len(blocks) + 8)
    for block in blocks:
        block.compile(dynamic=False)
    return len(blocks)


def _state_bytes(model: torch.nn.Module, optimizer) -> int:
    """Bytes of weights, gradients and optimizer states."""
    tensors = [p for p in model.parameters()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    for state in optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in tensors)


def train_step(case: Case, opts: Dict) -> Tuple[Callable[[], None], int]:
    """Build the model and optimizer, allocate gradients and AdamW states
    (so that memory measured before the first forward holds them), and
    return the step and those bytes."""
    from mmengine.optim import build_optim_wrapper
    scale = SCALES['quick' if opts['quick'] else 'full']
    model_cfg, optim_cfg = seg_config(
        opts['arch'], opts['quick'],
        scale['vitdet_window'] if case.vitdet else None,
        whole_image=case.windows is None)
    device, amp = opts['device'], opts['amp']
    if device == 'cuda' and amp:
        optim_cfg.update(type='AmpOptimWrapper', dtype=AMP_DTYPES[amp])
    model = build(model_cfg, device).train()
    compile_blocks(model, opts)
    wrapper = build_optim_wrapper(model, optim_cfg)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    wrapper.optimizer.step()  # creates the AdamW states
    boxes = None
    if case.windows is not None:
        boxes = window_boxes(case.windows, case.image, scale['patch'])
    data = seg_batch(case.image, case.batch,
                     model_cfg.decode_head.num_classes, boxes)
    cpu_amp = autocast(device, amp) if device == 'cpu' else None

    def step() -> None:
        with cpu_amp or contextlib.nullcontext():
            with wrapper.optim_context(model):
                batch = model.data_preprocessor(data, True)
                losses = model._run_forward(batch, mode='loss')
            loss, _ = model.parse_losses(losses)
        wrapper.backward(loss)
        wrapper.step()
        # Keep the gradient buffers (they are counted as state memory).
        wrapper.optimizer.zero_grad(set_to_none=False)

    step.model, step.wrapper = model, wrapper  # for breakdown.py
    return step, _state_bytes(model, wrapper.optimizer)


def _weights_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def seg_infer_step(case: Case, opts: Dict) -> Tuple[Callable[[], None], int]:
    """The segmentor's ``test_step`` in whole or slide mode."""
    model_cfg, _ = seg_config(opts['arch'], opts['quick'])
    if case.mode == 'slide':
        model_cfg.test_cfg = dict(mode='slide', crop_size=case.crop,
                                  stride=case.stride)
    model = build(model_cfg, opts['device']).eval()
    compile_blocks(model, opts)
    data = seg_batch(case.image, 1, model_cfg.decode_head.num_classes)
    amp = autocast(opts['device'], opts['amp'])

    def step() -> None:
        with torch.no_grad(), amp:
            model.test_step(data)

    return step, _weights_bytes(model)


def flow_infer_step(case: Case, opts: Dict
                    ) -> Tuple[Callable[[], None], int]:
    """One whole pass, or CroCo-Flow tiling. With more tiles than
    ``opts['max_tiles']`` only that many are run (in chunks of 8, as
    ``tiled_flow`` does) and the time is scaled to all tiles: the step
    then returns the time factor in ``case.extra['scale']``."""
    model = build(flow_config(opts['arch'], opts['quick']),
                  opts['device']).eval()
    compile_blocks(model, opts)
    pairs = flow_pairs(case.image).to(opts['device'])
    amp = autocast(opts['device'], opts['amp'])
    if case.mode == 'whole':
        def step() -> None:
            with torch.no_grad(), amp:
                model.encode_decode(pairs)
        return step, _weights_bytes(model)
    # CroCo-Flow tiles the frame itself (as WinWinFlowEstimator's tile
    # mode): the padding the one-pass case needs is left out.
    pairs = pairs[..., :case.image[0], :case.image[1]]
    boxes = tile_boxes(*case.image, case.crop, case.overlap)
    limit = opts.get('max_tiles') or 0
    per_batch = 8
    if not limit or len(boxes) <= limit:
        def step() -> None:
            with torch.no_grad(), amp:
                tiled_flow(model.encode_decode, pairs, case.crop,
                           case.overlap, tiles_per_batch=per_batch)
        case.extra.update(tiles_timed=len(boxes), scale=1.0)
        return step, _weights_bytes(model)
    chunks = max(limit // per_batch, 1)
    sample = boxes[:chunks * per_batch]
    tiles = [torch.cat([pairs[..., y1:y2, x1:x2]
                        for y1, x1, y2, x2 in sample[i:i + per_batch]])
             for i in range(0, len(sample), per_batch)]

    def step() -> None:
        with torch.no_grad(), amp:
            for chunk in tiles:
                model.encode_decode(chunk)  # n, 3, th, tw; merge not timed

    case.extra.update(tiles_timed=len(sample),
                      scale=math.ceil(len(boxes) / per_batch) / len(tiles))
    return step, _weights_bytes(model)


STEPS = {'train': train_step, 'seg_infer': seg_infer_step,
         'flow_infer': flow_infer_step}
