"""The benchmarked models, built from the project's real configs, and random
inputs for them.

Segmentation: ``configs/winwin/vitb_2win22_bdd.py`` (RoPE ViT + ConvNeXt
head, AdamW with layer-wise lr decay). Flow:
``configs/_base_/models/winwin_crocoflow_vit-b16.py`` (RoPE ViT encoder,
CroCo Base decoder, DPT head). Weights are random (``init_cfg=None``): the
cost does not depend on them. ``--arch`` swaps the encoder preset;
``quick`` swaps in a tiny model of the same structure.
"""
import copy
import os.path as osp
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict

from winwin_mm.models.layers.window_attention import default_global_indexes

from .. import REPO_ROOT

SEG_CONFIG = osp.join(REPO_ROOT, 'configs', 'winwin', 'vitb_2win22_bdd.py')
FLOW_CONFIG = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                       'winwin_crocoflow_vit-b16.py')

ARCH_DIMS = {'s': 384, 'b': 768, 'l': 1024}
QUICK_BACKBONE = dict(arch=None, embed_dims=32, num_layers=8, num_heads=2)


def seg_config(arch: str = 'b', quick: bool = False,
               vitdet_window: Optional[int] = None,
               whole_image: bool = False) -> Tuple[ConfigDict, ConfigDict]:
    """Model and optimizer configs of the BDD config, adapted.

    Args:
        arch: encoder preset ``'s'``, ``'b'`` or ``'l'``.
        quick: tiny backbone (32 dims, 8 blocks) and head.
        vitdet_window: ViTDet-style attention with this window (tokens).
        whole_image: train on whole images (full-res and crop baselines).

    Returns:
        ``(model, optim_wrapper)`` configs.
    """
    cfg = Config.fromfile(SEG_CONFIG)
    model = copy.deepcopy(cfg.model)
    bb, head = model.backbone, model.decode_head
    bb.init_cfg = None
    bb.arch = arch
    head.in_channels = ARCH_DIMS[arch]
    if quick:
        bb.update(QUICK_BACKBONE)
        bb.out_indices = (QUICK_BACKBONE['num_layers'] - 1, )
        head.update(in_channels=32, channels=16, num_convs=1)
    if vitdet_window:
        bb.window_attn_size = vitdet_window
    model.train_cfg = dict(whole_image=whole_image)
    return model, copy.deepcopy(cfg.optim_wrapper)


def flow_config(arch: str = 'b', quick: bool = False) -> ConfigDict:
    """CroCo-Flow model config with random weights (``arch`` = encoder;
    the decoder stays CroCo's Base one, as in CroCo-Flow ViT-L)."""
    cfg = Config.fromfile(FLOW_CONFIG)
    model = copy.deepcopy(cfg.model)
    bb, dec, head = model.backbone, model.decoder, model.decode_head
    bb.init_cfg = dec.init_cfg = None
    bb.arch = arch
    dim = ARCH_DIMS[arch]
    dec.in_channels = dim
    head.in_channels = [dim] + list(head.in_channels[1:])
    if quick:
        bb.update(QUICK_BACKBONE, num_layers=2, out_indices=(1, ))
        dec.update(in_channels=32, embed_dims=32, num_layers=4, num_heads=2,
                   out_indices=(1, 2, 3))
        head.update(in_channels=[32] * 4, channels=16,
                    layer_dims=(8, 16, 24, 32), last_dim=8)
    return model


def build(model_cfg: ConfigDict, device: str) -> torch.nn.Module:
    """Register the project's modules and build ``model_cfg`` on
    ``device`` with its random initialisation."""
    import winwin_mm  # noqa: F401  (registers the modules)
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.to(device)


def vitdet_global_blocks(num_layers: int) -> Tuple[int, ...]:
    """ViTDet's global blocks for the FLOP count."""
    return default_global_indexes(num_layers)


def seg_batch(image: Tuple[int, int], batch: int, num_classes: int,
              boxes: Optional[List[List[int]]] = None) -> dict:
    """Random uint8 images and labels as a dataloader would give them.

    Args:
        image: ``(H, W)``.
        batch: number of images.
        num_classes: label range.
        boxes: Win-Win pixel boxes (the same for every image) or None.

    Returns:
        ``dict(inputs=[(3, H, W) uint8], data_samples=[SegDataSample])``.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    H, W = image
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, H, W), generator=g,
                                    dtype=torch.uint8))
        meta = dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W))
        if boxes is not None:
            meta['windows'] = torch.tensor(boxes)
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, H, W), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def flow_pairs(image: Tuple[int, int], batch: int = 1,
               divisor: int = 16) -> torch.Tensor:
    """Random normalised pairs ``(B, 6, H_pad, W_pad)``: the preprocessor's
    output for ``image`` ``(H, W)``, padded to a multiple of ``divisor``
    (1080 -> 1088) as ``FlowDataPreProcessor`` pads it; its cost is
    negligible and the same for every case."""
    H, W = (s + (-s % divisor) for s in image)
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, 6, H, W, generator=g)
