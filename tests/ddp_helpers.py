"""Shared by tests/test_ddp.py: tiny task models, a fixed batch of 4
samples, one optimiser step, and the per-rank worker started with
``torch.multiprocessing.spawn`` (gloo, CPU).

The single-process step on the 4 samples and the 2-process step on 2
samples each must agree because every sample has the same number of
windows of the same size and every pixel is labelled: the loss of the
4-sample batch (mean over all its pixels) is then the mean of the two
ranks' losses, which is what DDP's gradient averaging computes.
"""
import os
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

NUM_SAMPLES = 4
# Large enough that the update dominates float32 rounding of the weights
# (the tiny models' gradients are ~1e-5): the tests compare updates.
LR = 100.0


def seg_model() -> torch.nn.Module:
    """A 2-block RoPE ViT with a ConvNeXt head (LayerNorms only: no batch
    statistics that would differ between 2 and 4 samples)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[255, 255, 255], size_divisor=8),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, patch_size=8),
        decode_head=dict(type='ConvNeXtHead', in_channels=32, channels=16,
                         num_convs=1, num_classes=5),
        test_cfg=dict(mode='whole')))
    model.init_weights()
    return model


def seg_batch() -> Tuple[List[torch.Tensor], List[SegDataSample]]:
    """4 images 32x48 with 2 windows of 16x16 pixels each, all labelled."""
    g = torch.Generator().manual_seed(1)
    inputs, samples = [], []
    for i in range(NUM_SAMPLES):
        inputs.append(torch.randint(0, 256, (3, 32, 48), generator=g,
                                    dtype=torch.uint8))
        windows = torch.tensor([[0, 0, 16, 16], [16 + 8 * (i % 2), 16,
                                                 32 + 8 * (i % 2), 32]])
        s = SegDataSample(metainfo=dict(img_shape=(32, 48),
                                        ori_shape=(32, 48), windows=windows))
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, 32, 48), generator=g))
        samples.append(s)
    return inputs, samples


def flow_model() -> torch.nn.Module:
    """A tiny CroCo-Flow: encoder 32/2/2, decoder 32/2/2, DPT head."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor'),
        backbone=dict(type='RoPEVisionTransformer', arch=None,
                      embed_dims=32, num_layers=2, num_heads=2,
                      out_indices=(1, )),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=32,
                     num_layers=3, num_heads=2, out_indices=(0, 1, 2)),
        decode_head=dict(type='WinDPTHead', in_channels=[32, 32, 32, 32],
                         channels=16, layer_dims=(8, 16, 16, 16),
                         last_dim=8, num_classes=3, out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss'))))
    model.init_weights()
    return model


def flow_batch() -> Tuple[List[torch.Tensor], List[SegDataSample]]:
    """4 pairs 64x96 (B, 6, H, W): frame 1 with 2 windows of 32x32, frame 2
    with 1 window of 32x48, every flow pixel valid."""
    g = torch.Generator().manual_seed(2)
    inputs, samples = [], []
    for i in range(NUM_SAMPLES):
        inputs.append(torch.randint(0, 256, (6, 64, 96), generator=g,
                                    dtype=torch.uint8))
        x = 16 * (i % 2)
        s = SegDataSample(metainfo=dict(
            img_shape=(64, 96), ori_shape=(64, 96),
            windows=torch.tensor([[x, 0, x + 32, 32], [64, 32, 96, 64]]),
            windows2=torch.tensor([[16 * (i % 3), 32, 16 * (i % 3) + 48,
                                    64]])))
        s.gt_flow = PixelData(data=torch.randn(2, 64, 96, generator=g) * 3)
        s.gt_flow_valid = PixelData(
            data=torch.ones(1, 64, 96, dtype=torch.bool))
        samples.append(s)
    return inputs, samples


TASKS: Dict[str, Tuple[Callable, Callable]] = dict(
    seg=(seg_model, seg_batch), flow=(flow_model, flow_batch))


def train_step(model: torch.nn.Module, inputs, samples) -> Dict:
    """One SGD step through mmengine's ``train_step`` (what the runner
    calls; on a DDP wrapper the gradients are averaged over ranks)."""
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=LR))
    return model.train_step(dict(inputs=inputs, data_samples=samples), optim)


def ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """Rank ``rank`` of ``world_size``: one DDP step per task on its share
    of the 4 samples; every rank saves its logged losses, rank 0 the
    updated weights."""
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel

    import winwin_mm  # noqa: F401
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        share = NUM_SAMPLES // world_size
        for name, (build, batch) in TASKS.items():
            model = MMDistributedDataParallel(module=build(), device_ids=None)
            inputs, samples = batch()
            mine = slice(rank * share, (rank + 1) * share)
            log = train_step(model, inputs[mine], samples[mine])
            torch.save({k: float(v) for k, v in log.items()},
                       os.path.join(out_dir, f'{name}_log{rank}.pt'))
            if rank == 0:
                torch.save(dict(state=model.module.state_dict()),
                           os.path.join(out_dir, f'{name}.pt'))
    finally:
        dist.destroy_process_group()
