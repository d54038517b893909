"""IwinTransformer window modes: independent crops vs one shared pass."""
import pytest
import torch

from winwin_mm.models.backbones import IwinTransformer


def _model(mode):
    torch.manual_seed(0)
    model = IwinTransformer(arch=None, embed_dims=16, depths=(1, 1, 1, 1),
                            num_heads=(2, 2, 4, 4), window_size=2,
                            drop_path_rate=0., window_mode=mode,
                            init_cfg=None)
    model.init_weights()
    return model.eval()


def test_one_window_over_the_image_equals_the_whole_image():
    """64x64 px: stage maps 16, 8, 4, 2, all multiples of the window (2),
    so the whole image has no padding token and its interleaved groups are
    exactly the shared mode's groups."""
    model = _model('shared')
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        whole = model(image)
        boxed = model(image, torch.tensor([[0, 0, 64, 64]]))
    for a, b in zip(whole, boxed):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_shared_windows_attend_to_each_other():
    """Changing the pixels of window 1 changes window 0's features in the
    shared mode, not with independent crops; each mode's window 0 with a
    fixed window 1 is deterministic."""
    image = torch.randn(1, 3, 64, 128)
    other = image.clone()
    other[..., 64:] = torch.randn(1, 3, 64, 64)
    wins = torch.tensor([[[0, 0, 64, 64], [64, 0, 128, 64]]])
    for mode, interacts in (('shared', True), ('crops', False)):
        model = _model(mode)
        with torch.no_grad():
            a = model(image, wins)[-1][0]
            b = model(other, wins)[-1][0]
        assert ((a - b).abs().max() > 1e-4) == interacts, mode


def test_shared_mode_checks_alignment_and_name():
    with pytest.raises(ValueError, match="'crops' or 'shared'"):
        _model('joint')
    model = _model('shared')
    with pytest.raises(ValueError, match='32-pixel grid'):
        model(torch.randn(1, 3, 64, 64), torch.tensor([[16, 0, 48, 32]]))


@pytest.mark.slow
def test_shared_mode_backpropagates():
    model = _model('shared').train()
    image = torch.randn(1, 3, 64, 128)
    outs = model(image, torch.tensor([[[0, 0, 32, 32], [64, 32, 128, 64]]]))
    assert outs[-1].shape[0] == 2
    sum(o.sum() for o in outs).backward()
    assert model.layers[0].blocks[0].attn.qkv.weight.grad.abs().sum() > 0
