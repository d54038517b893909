"""winwin_mm backbones in mmdetection 3.3.0 detectors.

Each test writes a documented mmdetection snippet verbatim as a config file
(the README's RetinaNet on the RoPE ViT with ``SimpleFeaturePyramid``,
docs/detection.md's RetinaNet on Iwin, docs/iwin.md's Mask R-CNN on Iwin: mmdet's own
base configs, ``custom_imports`` and the ``mmseg.`` scope prefix), shrinks
the model as the other tests do, builds the detector through mmdet's
registry and trains it for 3 SGD steps on two 128x128 images with boxes
(and masks): the losses stay finite and the backbone's weights move.
"""
import copy
import os.path as osp
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Both snippets are in README.md, character for character (checked below).
IWIN_SNIPPET = textwrap.dedent("""\
    _base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
    custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
    model = dict(
        backbone=dict(_delete_=True, type='mmseg.IwinTransformer', arch='t',
                      out_indices=(1, 2, 3)),
        neck=dict(in_channels=[192, 384, 768], start_level=0))
    """)
VIT_SNIPPET = textwrap.dedent("""\
    _base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
    custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
    model = dict(
        backbone=dict(_delete_=True, type='mmseg.RoPEVisionTransformer',
                      arch='b', out_indices=(11, )),
        # ViTDet's simple feature pyramid: strides 8, 16, 32 (+ 64, 128 pooled)
        neck=dict(_delete_=True, type='mmseg.SimpleFeaturePyramid',
                  in_channels=768, out_channels=256,
                  scale_factors=(2.0, 1.0, 0.5), num_outs=5))
    """)

# docs/iwin.md's Mask R-CNN snippet, character for character.
MASK_RCNN_SNIPPET = textwrap.dedent("""\
    _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
    custom_imports = dict(imports=['winwin_mm'], allow_failed_imports=False)
    model = dict(
        backbone=dict(
            _delete_=True,
            type='mmseg.IwinTransformer',
            arch='t',
            drop_path_rate=0.2,
            out_indices=(0, 1, 2, 3),
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/iwin_tiny_patch4_window7_224.pth')),
        neck=dict(in_channels=[96, 192, 384, 768]))
    """)

# Test-sized models (the snippets build ViT-B / Iwin-T).
TINY = dict(
    iwin=dict(model=dict(
        backbone=dict(arch=None, embed_dims=16, depths=[1, 1, 2, 1],
                      num_heads=[1, 2, 4, 8]),
        neck=dict(in_channels=[32, 64, 128], out_channels=32))),
    vit=dict(model=dict(
        backbone=dict(arch=None, embed_dims=32, num_layers=2, num_heads=2,
                      out_indices=(1, )),
        neck=dict(in_channels=32, out_channels=32))))
TINY['mask_rcnn'] = dict(model=dict(
    backbone=dict(arch=None, embed_dims=16, depths=[1, 1, 2, 1],
                  num_heads=[1, 2, 4, 8], init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=32, num_classes=3),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(num_convs=1, in_channels=32, conv_out_channels=16,
                       num_classes=3)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=50))))
RETINA_HEAD = dict(model=dict(bbox_head=dict(
    num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1)))
DETECTORS = dict(iwin='RetinaNet', vit='RetinaNet', mask_rcnn='MaskRCNN')


def test_snippets_are_the_documented_ones():
    readme = open(osp.join(ROOT, 'README.md')).read()
    assert VIT_SNIPPET in readme
    detection = open(osp.join(ROOT, 'docs', 'detection.md')).read()
    # indented as the list item it belongs to
    assert textwrap.indent(IWIN_SNIPPET, '  ') in detection
    assert MASK_RCNN_SNIPPET in open(osp.join(ROOT, 'docs', 'iwin.md')).read()


def _batch(masks: bool = False):
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for boxes in ([[8., 16., 72., 90.], [60., 40., 120., 110.]],
                  [[30., 30., 100., 80.]]):
        inputs.append(torch.randint(0, 256, (3, 128, 128), generator=g,
                                    dtype=torch.uint8))
        s = DetDataSample(metainfo=dict(img_shape=(128, 128),
                                        ori_shape=(128, 128),
                                        scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes),
            labels=torch.arange(len(boxes)) % 3)
        if masks:  # each box filled
            m = np.zeros((len(boxes), 128, 128), np.uint8)
            for i, (x1, y1, x2, y2) in enumerate(boxes):
                m[i, int(y1):int(y2), int(x1):int(x2)] = 1
            s.gt_instances.masks = BitmapMasks(m, 128, 128)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('name,snippet', [('iwin', IWIN_SNIPPET),
                                          ('vit', VIT_SNIPPET),
                                          ('mask_rcnn', MASK_RCNN_SNIPPET)])
def test_detector_trains(tmp_path, name, snippet):
    path = tmp_path / f'{name}.py'
    path.write_text(snippet)
    cfg = Config.fromfile(str(path))  # custom_imports: imports winwin_mm
    cfg.merge_from_dict(TINY[name])
    if DETECTORS[name] == 'RetinaNet':
        cfg.merge_from_dict(RETINA_HEAD)
    # The scope a runner would set from mmdet's default_runtime.
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import MODELS
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        assert type(model).__name__ == DETECTORS[name]
        backbone = cfg.model.backbone.type.split('.')[1]
        assert type(model.backbone).__name__ == backbone
        before = copy.deepcopy(model.backbone.state_dict())
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01,
                                             momentum=0.9))
        data = _batch(masks=name == 'mask_rcnn')
        for _ in range(3):
            log = model.train_step(data, optim)
            assert any('loss_cls' in k for k in log), log
            assert any('loss_bbox' in k for k in log), log
            assert name != 'mask_rcnn' or 'loss_mask' in log
            assert all(torch.isfinite(v) for v in log.values()), log
        moved = [k for k, v in model.backbone.state_dict().items()
                 if v.is_floating_point() and not torch.equal(v, before[k])]
        assert len(moved) > len(before) // 2, moved

        model.eval()
        preds = model.test_step(data)
        assert len(preds) == 2
        assert preds[0].pred_instances.bboxes.shape[-1] == 4


def test_simple_feature_pyramid_strides():
    from winwin_mm.models.necks import SimpleFeaturePyramid
    feat = torch.randn(2, 32, 6, 10)  # a stride-16 map of a 96x160 image
    neck = SimpleFeaturePyramid(32, 24)  # ViTDet: strides 4, 8, 16, 32
    assert [tuple(o.shape) for o in neck([feat])] == [
        (2, 24, 24, 40), (2, 24, 12, 20), (2, 24, 6, 10), (2, 24, 3, 5)]
    neck = SimpleFeaturePyramid(32, 24, (2.0, 1.0, 0.5), num_outs=5)
    assert [o.shape[-2:] for o in neck([feat])] == [
        (12, 20), (6, 10), (3, 5), (2, 3), (1, 2)]
    with pytest.raises(ValueError, match='scale factor 3'):
        SimpleFeaturePyramid(32, 24, (3.0, ))
