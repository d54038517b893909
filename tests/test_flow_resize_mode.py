"""The resize test mode for flow: resize to the training size, predict,
resize back and scale the vectors."""
import pytest
import torch

from winwin_mm.models.segmentors.flow_tiling import resized_flow


def test_resized_flow_scales_vectors_and_keeps_confidence():
    seen = []

    def predict(x):  # constant flow (u=1, v=2) and confidence 3 at any size
        seen.append(tuple(x.shape))
        out = torch.ones(x.shape[0], 3, *x.shape[-2:])
        return out * torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)

    pairs = torch.randn(2, 6, 48, 96)
    out = resized_flow(predict, pairs, (16, 32))
    assert seen == [(2, 6, 16, 32)]
    assert out.shape == (2, 3, 48, 96)
    assert torch.allclose(out[:, 0], torch.full((2, 48, 96), 3.))  # 96/32
    assert torch.allclose(out[:, 1], torch.full((2, 48, 96), 6.))  # 48/16
    assert torch.allclose(out[:, 2], torch.full((2, 48, 96), 3.))


def test_resized_flow_identity_at_training_size():
    pairs = torch.randn(1, 6, 16, 32)
    out = resized_flow(lambda x: x[:, :3], pairs, (16, 32))
    assert torch.allclose(out, pairs[:, :3])


def test_estimator_resize_mode_ignores_padding():
    from winwin_mm.models.segmentors.winwin_flow_estimator import \
        WinWinFlowEstimator
    sizes = []

    class Stub:
        test_cfg = dict(mode='resize', crop_size=(16, 16))
        backbone_size_divisor = 8
        _checked_crop = WinWinFlowEstimator._checked_crop

        def encode_decode(self, x):
            sizes.append(tuple(x.shape[-2:]))
            return torch.ones(x.shape[0], 3, *x.shape[-2:])

    class Sample:
        metainfo = dict(padding_size=[0, 8, 0, 8])  # left, right, top, bottom

    stub = Stub()
    out = WinWinFlowEstimator.resize_inference(
        stub, torch.randn(1, 6, 40, 48), [Sample()])
    assert sizes == [(16, 16)]
    assert torch.allclose(out[0, 0, :32, :40], torch.full((32, 40), 2.5))
    assert torch.allclose(out[0, 1, :32, :40], torch.full((32, 40), 2.))
    assert out[:, :, 32:].abs().sum() == 0 and out[:, :, :, 40:].abs().sum() == 0
    stub.test_cfg = dict(mode='resize', crop_size=(12, 16))
    with pytest.raises(ValueError, match='multiples of the patch size'):
        WinWinFlowEstimator.resize_inference(stub, torch.randn(1, 6, 40, 48))
