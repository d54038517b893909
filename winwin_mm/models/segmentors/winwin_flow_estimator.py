"""Optical flow with Win-Win: CroCo-Flow trained on windows of both frames,
run on whole frames in one pass."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.losses import CrossEntropyLoss
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...structures import TokenLayout
from ..decoders.matching_readout import token_flow_targets
from ..losses import flow_valid_mask
from .flow_tiling import resized_flow, tiled_flow
from .winwin_mixin import WinWinMixin

# The matching readout's inputs: (x1, x2, layout1, layout2).
MatchInputs = Tuple[Tensor, Tensor, TokenLayout, TokenLayout]


@MODELS.register_module()
class WinWinFlowEstimator(WinWinMixin, BaseSegmentor):
    """CroCo-Flow-style optical flow with Win-Win training.

    Inputs are ``(B, 6, H, W)`` pairs (frame 1 in channels 0-2, frame 2 in
    3-5, normalised by ``FlowDataPreProcessor``). The ``backbone`` (a
    ``RoPEVisionTransformer``) encodes both frames in one batched call; the
    ``decoder`` (a ``RoPECrossDecoder``) lets frame-1 tokens attend to
    frame-2 tokens; the ``decode_head`` (e.g. ``WinDPTHead``,
    ``num_classes=3``) reads the backbone's ``out_indices`` outputs of frame
    1, then the decoder's, and regresses ``(u, v, c)`` per pixel.

    Training: frame 1 has N windows (``metainfo['windows']``) and frame 2 M
    windows of its own (``metainfo['windows2']``, e.g. from
    ``FlowGuidedWindows``); frame-1 window tokens attend to all frame-2
    window tokens of the pair at their true positions, and the head and the
    loss (``decode_head.loss_decode``, e.g. ``LaplacianFlowLoss``) run per
    frame-1 window on the ground truth cropped to it. Without ``windows2``
    frame 2 is seen whole. ``train_cfg=dict(whole_image=True)`` trains on
    whole frames (the full-resolution baseline).

    Test (``test_cfg``): inputs come padded to the patch size by
    ``FlowDataPreProcessor`` (``padding_size`` in the metainfo), and
    :meth:`postprocess_result` crops the prediction back to the frame.
    ``mode='whole'`` (default) is one pass over the whole frames;
    ``mode='tile'`` is CroCo-Flow's tiling baseline (tiles of each frame's
    own pixels) with ``crop_size`` (required, a multiple of the patch size),
    ``overlap`` (0.9), ``beta`` (10), ``beta_s`` (5) and
    ``tiles_per_batch`` (8); ``mode='resize'`` resizes each frame to
    ``crop_size``, predicts in one pass and resizes the flow back with its
    vectors scaled (paper Table 4 right). Predictions are ``pred_flow`` ``(2, H,
    W)`` and ``pred_flow_conf`` ``(1, H, W)`` (the raw confidence channel:
    larger = less certain) at ``ori_shape``.

    Example::

        model = dict(
            type='WinWinFlowEstimator',
            data_preprocessor=dict(type='FlowDataPreProcessor'),
            backbone=dict(type='RoPEVisionTransformer', arch='b',
                          out_indices=(11, )),
            decoder=dict(type='RoPECrossDecoder', in_channels=768,
                         out_indices=(3, 7, 11)),
            decode_head=dict(type='WinDPTHead', in_channels=[768] * 4,
                             num_classes=3, out_channels=3,
                             loss_decode=dict(type='LaplacianFlowLoss')),
            test_cfg=dict(mode='whole'))

    Args:
        backbone: a ``RoPEVisionTransformer`` config whose ``out_indices``
            include its last block (the decoder's input).
        decoder: a ``RoPECrossDecoder`` config.
        decode_head: a head config with 3 outputs.
        data_preprocessor: e.g. ``dict(type='FlowDataPreProcessor')``.
        train_cfg: ``whole_image`` (bool).
        test_cfg: see above.
        flow_scale: the head's ``(u, v)`` outputs are multiplied by this
            before the loss and at test time (FlowNet's ``div_flow``). 1 (the
            default) is CroCo-Flow's head, which regresses pixels directly:
            right for fine-tuning a pretrained model. From scratch, a head
            initialised to outputs of order 1 needs its last weights to grow
            by about the flow magnitude before it can express flows of tens
            of pixels, and Adam grows them by about ``lr`` per step; a scale
            of about the typical flow (e.g. 20) removes that wait.
        matching: None (CroCo-Flow) or a readout config, e.g.
            ``dict(type='MatchingFlowReadout', in_channels=768)``: the flow
            of a soft match between the two frames' last encoder tokens,
            upsampled bilinearly, is added to the head's ``(u, v)``, so the
            head regresses a correction to it. With its ``loss_weight`` >
            0, training adds its matching loss (``decode.loss_match``)
            against the ground truth averaged per frame-1 token. Not in
            the paper and off by default; the flow demo's small model,
            trained from scratch, learns flow with it
            (docs/flow_demo.md).
        init_cfg: initialisation config.
    """

    # NaN flow / False validity: padding of smaller windows is "unknown".
    gt_fields: Dict[str, Optional[float]] = {
        'gt_flow': float('nan'), 'gt_flow_valid': 0}

    def __init__(self, backbone: dict, decoder: dict, decode_head: dict,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 flow_scale: float = 1.0,
                 matching: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not flow_scale > 0:
            raise ValueError(f'flow_scale must be > 0, got {flow_scale}')
        self.flow_scale = float(flow_scale)
        self.backbone = MODELS.build(backbone)
        self.decoder = MODELS.build(decoder)
        self.decode_head = MODELS.build(decode_head)
        self.matching = None if matching is None else MODELS.build(matching)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg or {}
        self._check_parts()
        self.check_test_padding()

    def _check_parts(self) -> None:
        """Clear errors for parts that cannot work together."""
        bb = self.backbone
        if not hasattr(bb, 'forward_tokens'):
            raise TypeError(f'WinWinFlowEstimator needs a backbone with '
                            f'forward_tokens() (RoPEVisionTransformer), got '
                            f'{type(bb).__name__}')
        if bb.num_layers - 1 not in bb.out_indices:
            raise ValueError(
                'WinWinFlowEstimator: backbone.out_indices must include the '
                f'last block ({bb.num_layers - 1}), whose normalised output '
                f'feeds the decoder; got {bb.out_indices}')
        self._last = bb.out_indices.index(bb.num_layers - 1)
        in_dims = self.decoder.decoder_embed.in_features
        if in_dims != bb.embed_dims:
            raise ValueError(f'decoder.in_channels={in_dims} must equal the '
                             f'backbone width {bb.embed_dims}')
        losses = self.decode_head.loss_decode
        losses = losses if isinstance(losses, nn.ModuleList) else [losses]
        if any(isinstance(loss, CrossEntropyLoss) for loss in losses):
            raise ValueError('decode_head.loss_decode is a classification '
                             'loss; set decode_head.loss_decode='
                             "dict(type='LaplacianFlowLoss') for flow")

    # -------------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor,
                     windows: Optional[List[Tensor]] = None,
                     windows2: Optional[List[Tensor]] = None
                     ) -> List[Tensor]:
        """Head inputs: one map per frame-1 window (or whole frame 1).

        Args:
            inputs: ``(B, 6, H, W)`` pairs.
            windows: frame-1 boxes (``B`` tensors ``(N_b, 4)``) or None.
            windows2: frame-2 boxes (``(M_b, 4)``); None with windows = the
                whole frame 2.

        Returns:
            The backbone's ``out_indices`` maps of frame 1, then the
            decoder's, each ``(sum_b N_b, C, h, w)`` (whole: ``(B, C,
            H/16, W/16)``); with ``matching``, its token flow
            ``(sum_b N_b, 2, h, w)`` last (:meth:`head_forward` takes it).
        """
        return self._encode_pair(inputs, windows, windows2)[0]

    def _encode_pair(self, inputs: Tensor,
                     windows: Optional[List[Tensor]] = None,
                     windows2: Optional[List[Tensor]] = None
                     ) -> Tuple[List[Tensor], MatchInputs]:
        """:meth:`extract_feat`'s maps, and the last encoder tokens of both
        frames with their layouts ``(x1 (B, N1, C), x2 (B, N2, C), layout1,
        layout2)``: the matching readout's inputs, which its loss needs
        again."""
        B = inputs.shape[0]
        frames = torch.cat([inputs[:, :3], inputs[:, 3:]])  # 2B, 3, H, W
        wins = None
        if windows is not None:
            if windows2 is None:
                windows2 = self.whole_image_windows(inputs, B)
            wins = list(windows) + list(windows2)  # frame 1s, frame 2s
        tokens, layout = self.backbone.forward_tokens(frames, wins)
        lay1, lay2 = layout.select(0, B), layout.select(B, 2 * B)
        n1, n2 = lay1.positions.shape[1], lay2.positions.shape[1]
        last = tokens[self._last]  # 2B, L, C
        dec = self.decoder(last[:B, :n1], last[B:, :n2], lay1, lay2)
        maps = ([lay1.to_maps(t[:B]) for t in tokens] +
                [lay1.to_maps(t) for t in dec])  # each N, C, h, w
        pair = (last[:B, :n1], last[B:, :n2], lay1, lay2)
        if self.matching is not None:
            maps.append(lay1.to_maps(self.matching(*pair)))  # N, 2, h, w
        return maps, pair

    def extract_window_feat(self, inputs: Tensor,
                            windows: Optional[List[Tensor]] = None
                            ) -> List[Tensor]:
        return self.extract_feat(inputs, windows)

    def head_forward(self, x: List[Tensor]) -> Tensor:
        """``(N, 3, 16h, 16w)`` (u, v, c): the head's output with (u, v) in
        pixels (times ``flow_scale``), plus the matching readout's flow."""
        match = None
        if self.matching is not None:
            x, match = x[:-1], x[-1]  # match: N, 2, h, w
        out = self.decode_head(x)  # N, 3, 16h, 16w
        if self.flow_scale != 1.0:
            scale = out.new_tensor([self.flow_scale, self.flow_scale, 1.])
            out = out * scale.view(1, 3, 1, 1)
        if match is None:
            return out
        # Token values sit at the centres of their patches, as bilinear
        # resizing without align_corners places them.
        match = F.interpolate(match, size=out.shape[-2:], mode='bilinear',
                              align_corners=False)  # N, 2, 16h, 16w
        return torch.cat([out[:, :2] + match, out[:, 2:]], dim=1)

    # ----------------------------------------------------------------- train
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Flow loss per frame-1 window (frame-1 boxes from
        ``metainfo['windows']``, frame-2 boxes from ``metainfo['windows2']``,
        the whole frame 2 when absent), plus the matching readout's loss on
        the whole-frame ground truth when its ``loss_weight`` > 0.

        Args:
            inputs: ``(B, 6, H, W)`` pairs.
            data_samples: their samples with ``gt_flow`` ``(2, H, W)``.

        Returns:
            ``decode.loss_*`` per loss of the head (and ``decode.loss_match``)
            and the logged ``decode.epe``.
        """
        windows, from_samples = self._batch_windows(inputs, data_samples)
        windows2 = None
        if from_samples and all('windows2' in ds.metainfo
                                for ds in data_samples):
            windows2, _ = self._batch_windows(inputs, data_samples,
                                              'windows2')
        maps, pair = self._encode_pair(
            inputs, windows if from_samples else None, windows2)
        match_loss = None
        if self.matching is not None and self.matching.loss_weight > 0:
            match_loss = self.matching.loss(
                *pair, *token_flow_targets(data_samples, pair[2],
                                           self.backbone.patch_size))
        window_samples = self.crop_data_samples(data_samples, windows)
        return self._decode_head_forward_train(maps, window_samples,
                                               match_loss)

    def _decode_head_forward_train(self, x: List[Tensor],
                                   window_samples: SampleList,
                                   match_loss: Optional[Tensor] = None
                                   ) -> dict:
        """Head + ``loss_decode`` per frame-1 window; logs the EPE too.

        Args:
            x: :meth:`extract_feat`'s maps, one row per frame-1 window.
            window_samples: one sample per window, ``gt_flow`` cropped.
            match_loss: the matching readout's loss, added as
                ``decode.loss_match`` (None: no such loss).
        """
        out = self.head_forward(x)  # N, 3, 16h, 16w
        gt = torch.stack([s.gt_flow.data for s in window_samples])  # N,2,h,w
        valid = None
        if 'gt_flow_valid' in window_samples[0]:
            valid = torch.stack([s.gt_flow_valid.data
                                 for s in window_samples])  # N, 1, h, w
        out = out[..., :gt.shape[-2], :gt.shape[-1]]
        losses = {}
        loss_fns = self.decode_head.loss_decode
        loss_fns = (loss_fns if isinstance(loss_fns, nn.ModuleList)
                    else [loss_fns])
        for fn in loss_fns:
            losses['decode.' + fn.loss_name] = fn(out, gt, valid)
        if match_loss is not None:
            losses['decode.loss_match'] = match_loss
        with torch.no_grad():
            mask = flow_valid_mask(gt, valid)
            epe = (out[:, :2] - torch.nan_to_num(gt)).norm(dim=1)  # N, h, w
            losses['decode.epe'] = (epe[mask].mean() if mask.any() else
                                    epe.new_zeros(()))
        return losses

    # ------------------------------------------------------------------ test
    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: Optional[List[dict]] = None
                      ) -> Tensor:
        """Raw head output ``(B, 3, H, W)`` of whole pairs ``(B, 6, H, W)``
        in one pass; ``H`` and ``W`` must be multiples of the patch size
        (``FlowDataPreProcessor`` pads them)."""
        self.check_divisible(inputs)
        return self.head_forward(self.extract_feat(inputs))  # B, 3, H, W

    def inference(self, inputs: Tensor,
                  data_samples: OptSampleList = None) -> Tensor:
        """``(B, 3, H, W)`` (u, v, c) of padded pairs by ``test_cfg.mode``.

        Args:
            inputs: ``(B, 6, H, W)`` pairs padded by the preprocessor.
            data_samples: their samples; ``mode='tile'`` reads each pair's
                ``padding_size`` to tile the frame itself, as CroCo-Flow
                does (no tile is spent on padding).
        """
        cfg = self.test_cfg
        mode = cfg.get('mode', 'whole')
        if mode == 'whole':
            return self.encode_decode(inputs)
        if mode == 'tile':
            return self.tile_inference(inputs, data_samples)
        if mode == 'resize':
            return self.resize_inference(inputs, data_samples)
        raise ValueError(f"test_cfg.mode must be 'whole', 'tile' or "
                         f"'resize', got {mode!r}")

    def _checked_crop(self) -> Tuple[int, int]:
        cfg = self.test_cfg
        d = self.backbone_size_divisor
        crop = cfg.get('crop_size')
        if crop is None or any(int(c) % d for c in crop):
            raise ValueError(
                f"test_cfg.mode={cfg.get('mode')!r} needs "
                'test_cfg.crop_size=(h, w), '
                f'multiples of the patch size {d} (the training crop, '
                f'CroCo-Flow: (320, 384)); got {crop}')
        return int(crop[0]), int(crop[1])

    def resize_inference(self, inputs: Tensor,
                         data_samples: OptSampleList = None) -> Tensor:
        """The *resize* baseline (paper Table 4 right): each frame's own
        pixels (padding excluded) resized to ``test_cfg.crop_size``, one
        pass, the flow resized back and its vectors scaled.

        Returns:
            ``(B, 3, H, W)`` (u, v, c), zero on the padding.
        """
        crop = self._checked_crop()
        B, _, H, W = inputs.shape
        out = inputs.new_zeros(B, 3, H, W)
        for i in range(B):
            _, right, _, bottom = ([0] * 4 if data_samples is None else
                                   data_samples[i].metainfo.get(
                                       'padding_size', [0] * 4))
            h, w = H - bottom, W - right
            out[i:i + 1, :, :h, :w] = resized_flow(
                self.encode_decode, inputs[i:i + 1, :, :h, :w], crop)
        return out

    def tile_inference(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """CroCo-Flow's tiling of each frame: tiles of ``crop_size`` over
        the frame's own pixels; an axis shorter than the crop is covered by
        one tile of its padded length (still a multiple of the patch).

        Returns:
            ``(B, 3, H, W)`` merged (u, v, c), zero on the padding.
        """
        cfg = self.test_cfg
        crop = self._checked_crop()
        B, _, H, W = inputs.shape
        out = inputs.new_zeros(B, 3, H, W)
        for i in range(B):
            _, right, _, bottom = ([0] * 4 if data_samples is None else
                                   data_samples[i].metainfo.get(
                                       'padding_size', [0] * 4))
            h = H - bottom if H - bottom >= crop[0] else H
            w = W - right if W - right >= crop[1] else W
            out[i:i + 1, :, :h, :w], _ = tiled_flow(
                self.encode_decode, inputs[i:i + 1, :, :h, :w], crop,
                cfg.get('overlap', 0.9), cfg.get('beta', 10.),
                cfg.get('beta_s', 5.), cfg.get('tiles_per_batch', 8))
        return out

    def predict(self, inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """``pred_flow`` ``(2, H, W)`` and ``pred_flow_conf`` ``(1, H, W)``
        per pair, at ``ori_shape`` (see :meth:`postprocess_result`)."""
        return self.postprocess_result(self.inference(inputs, data_samples),
                                       data_samples)

    def postprocess_result(self, out: Tensor,
                           data_samples: OptSampleList = None
                           ) -> SampleList:
        """Undo the data preprocessor's padding and the test pipeline's
        resize: the one place where predictions get their frame's size.

        Args:
            out: ``(B, 3, H_pad, W_pad)`` raw (u, v, c) of the padded batch.
            data_samples: their samples; ``padding_size`` ``[left, right,
                top, bottom]`` (set by ``FlowDataPreProcessor``) is cropped
                away, then a prediction whose size differs from
                ``ori_shape`` is resized to it with ``(u, v)`` scaled.
                None: one sample per pair at the input's size.

        Returns:
            The samples with ``pred_flow`` ``(2, H, W)`` and
            ``pred_flow_conf`` ``(1, H, W)``.
        """
        if data_samples is None:
            size = tuple(out.shape[-2:])
            data_samples = [SegDataSample(metainfo=dict(
                ori_shape=size, img_shape=size)) for _ in range(len(out))]
        H_pad, W_pad = out.shape[-2:]
        for i, sample in enumerate(data_samples):
            left, right, top, bottom = sample.metainfo.get('padding_size',
                                                           [0] * 4)
            pred = out[i:i + 1, :, top:H_pad - bottom,
                       left:W_pad - right]  # 1, 3, h, w
            h, w = pred.shape[-2:]
            H, W = sample.metainfo.get('ori_shape', (h, w))[:2]
            if (H, W) != (h, w):  # the test pipeline resized the frames
                pred = F.interpolate(pred, (H, W), mode='bilinear',
                                     align_corners=False)
                scale = pred.new_tensor([W / w, H / h, 1.]).view(1, 3, 1, 1)
                pred = pred * scale
            sample.set_data(dict(pred_flow=PixelData(data=pred[0, :2]),
                                 pred_flow_conf=PixelData(data=pred[0, 2:])))
        return data_samples

    def _forward(self, inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """``mode='tensor'``: the raw ``(B, 3, H, W)`` head output of whole
        pairs in one pass."""
        return self.encode_decode(inputs)
