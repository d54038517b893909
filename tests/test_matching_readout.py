"""MatchingFlowReadout: the soft match's offset is the flow, padding of
frame-2 windows is never matched, and the flow model adds it to its head."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import winwin_mm  # noqa: F401
from winwin_mm.models.decoders import MatchingFlowReadout
from winwin_mm.models.decoders.matching_readout import token_flow_targets
from winwin_mm.models.layers.window_tokens import grid_positions
from winwin_mm.structures import TokenLayout

from test_flow_model import _boxes, _flow_sample, _model

init_default_scope('mmseg')


def _whole(h, w, batch=1):
    pos = grid_positions(h, w)[None].expand(batch, -1, -1)  # B, h*w, 2
    return TokenLayout(pos, None, [[(h, w)]] * batch, whole=True)


def test_a_shift_of_whole_tokens_is_read_out_in_pixels():
    """Frame-2 content is frame-1 content moved by (dy, dx) = (1, -2)
    tokens: every frame-1 token whose content stays in frame 2 gets the
    flow (u, v) = (-2 * 16, 1 * 16) px, at initialisation already."""
    torch.manual_seed(0)
    h, w, C, (dy, dx) = 6, 8, 32, (1, -2)
    x1 = torch.randn(h, w, C)
    x2 = torch.randn(h, w, C)  # content that entered at the border
    x2[dy:, :w + dx] = x1[:h - dy, -dx:]  # frame 2 at p + d = frame 1 at p
    readout = MatchingFlowReadout(C, embed_dims=32, patch_size=16,
                                  init_scale=100.)
    lay = _whole(h, w)
    with torch.no_grad():
        flow = readout(x1.reshape(1, h * w, C), x2.reshape(1, h * w, C),
                       lay, lay).reshape(h, w, 2)
    inside = flow[:h - dy, -dx:]  # tokens whose match is in frame 2
    expected = torch.tensor([dx * 16., dy * 16.]).expand_as(inside)
    torch.testing.assert_close(inside, expected, atol=0.05, rtol=0)
    # A token without a match does not get that flow by chance.
    assert not torch.allclose(flow[h - 1, 0], expected[0], atol=1.)


def test_padding_of_frame2_windows_is_never_matched():
    """Image 1 has fewer frame-2 tokens than image 0; its padding tokens
    copy the query's own features (the worst case) yet take no weight."""
    torch.manual_seed(1)
    C = 16
    q = torch.randn(2, 1, C)  # one frame-1 token per image
    pos1 = torch.tensor([[[2, 3]], [[2, 3]]])
    lay1 = TokenLayout(pos1, None, [[(1, 1)], [(1, 1)]])
    x2 = torch.randn(2, 6, C)
    x2[:, 1] = q[:, 0]  # the true match: token 1, at (4, 2)
    x2[1, 4:] = q[1, 0]  # padding of image 1 (its 4 real tokens first)
    pos2 = torch.tensor([[[0, 0], [4, 2], [0, 1], [5, 5], [1, 1], [3, 0]],
                         [[0, 0], [4, 2], [0, 1], [5, 5], [0, 0], [0, 0]]])
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    lay2 = TokenLayout(pos2, mask, [[(2, 3)], [(2, 2)]])
    readout = MatchingFlowReadout(C, embed_dims=16, patch_size=8,
                                  init_scale=100.)
    with torch.no_grad():
        flow = readout(q, x2, lay1, lay2)  # 2, 1, 2
    expected = torch.tensor([(2 - 3) * 8., (4 - 2) * 8.])  # (u, v)
    torch.testing.assert_close(flow[:, 0], expected.expand(2, 2),
                               atol=0.05, rtol=0)


def test_flow_model_adds_the_readout_to_its_head():
    """With ``matching``, the model's (u, v) is the head's plus the token
    flow resized bilinearly (token values at patch centres); the
    confidence is the head's; training adds the matching loss and reaches
    the readout's weights."""
    model = _model(matching=dict(type='MatchingFlowReadout',
                                 in_channels=64, embed_dims=16,
                                 loss_weight=1.))
    inputs = torch.randint(0, 255, (2, 6, 64, 96), dtype=torch.uint8)
    x = model.data_preprocessor(dict(inputs=list(inputs)), False)['inputs']
    with torch.no_grad():
        feats = model.extract_feat(x)
        out = model.encode_decode(x)  # 2, 3, 64, 96
        head = model.decode_head(feats[:-1])
    token_flow = feats[-1]  # 2, 2, 4, 6
    assert token_flow.shape == (2, 2, 4, 6)
    added = out[:, :2] - head[:, :2]
    torch.testing.assert_close(added, F.interpolate(
        token_flow, size=(64, 96), mode='bilinear', align_corners=False))
    torch.testing.assert_close(out[:, 2], head[:, 2])

    model.train()
    samples = [_flow_sample(64, 96, _boxes([0, 0, 32, 48]),
                            _boxes([32, 0, 64, 48], [64, 16, 96, 48]), 0),
               _flow_sample(64, 96, _boxes([16, 16, 48, 64]),
                            _boxes([48, 32, 80, 64]), 1)]
    data = model.data_preprocessor(dict(inputs=list(inputs),
                                        data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_flow', 'decode.loss_match',
                           'decode.epe'}
    assert losses['decode.loss_match'] > 0
    (losses['decode.loss_flow'] + losses['decode.loss_match']).backward()
    readout = model.matching
    assert readout.proj.weight.grad.abs().sum() > 0
    assert readout.log_scale.grad.abs() > 0


def test_the_matching_loss_is_not_kept_on_the_model():
    """The matching loss travels through return values: while the head
    runs and after ``loss()`` the model holds no attribute it did not hold
    before, and two calls give the same losses."""
    model = _model(matching=dict(type='MatchingFlowReadout',
                                 in_channels=64, embed_dims=16,
                                 loss_weight=1.)).train()
    inputs = torch.randint(0, 255, (1, 6, 64, 96), dtype=torch.uint8)
    samples = [_flow_sample(64, 96, _boxes([0, 0, 32, 48]),
                            _boxes([32, 0, 64, 48]), 0)]
    data = model.data_preprocessor(dict(inputs=list(inputs),
                                        data_samples=samples), True)
    before = set(vars(model))
    seen = []
    model.decode_head.register_forward_pre_hook(
        lambda *_: seen.append(set(vars(model))))
    first = model(**data, mode='loss')
    assert seen == [before] and set(vars(model)) == before
    second = model(**data, mode='loss')
    for key in ('decode.loss_flow', 'decode.loss_match'):
        torch.testing.assert_close(first[key], second[key])


def test_readout_config_errors():
    import pytest
    with pytest.raises(ValueError, match='init_scale'):
        MODELS.build(dict(type='MatchingFlowReadout', in_channels=8,
                          init_scale=0.))


def test_matching_loss_by_hand():
    """Half-token flow: the target splits between the two frame-2 tokens
    around the match; a match out of frame targets the no-match key; the
    loss is the cross-entropy of those targets, scaled by loss_weight."""
    torch.manual_seed(2)
    C = 4
    readout = MatchingFlowReadout(C, C, patch_size=8, init_scale=3.,
                                  loss_weight=0.5)
    readout.proj = torch.nn.Identity()
    x1, x2 = torch.randn(1, 2, C), torch.randn(1, 3, C)
    lay1 = TokenLayout(torch.tensor([[[0, 0], [0, 2]]]), None, [[(1, 2)]])
    lay2 = TokenLayout(torch.tensor([[[0, 0], [0, 1], [0, 2]]]), None,
                       [[(1, 3)]])
    target = torch.tensor([[[4., 0.], [16., 0.]]])  # (u, v) px
    valid = torch.ones(1, 2, dtype=torch.bool)
    loss = readout.loss(x1, x2, lay1, lay2, target, valid)

    keys = torch.cat([F.normalize(x2[0], dim=-1),
                      F.normalize(readout.no_match, dim=0)[None]])  # 4, C
    logp = (3. * F.normalize(x1[0], dim=-1) @ keys.T).log_softmax(-1)
    ce0 = -(0.5 * logp[0, 0] + 0.5 * logp[0, 1])  # between tokens 0 and 1
    ce1 = -logp[1, 3]  # (0, 2) + 2 tokens is out of frame 2: no match
    torch.testing.assert_close(loss, 0.5 * (ce0 + ce1) / 2)
    loss.backward()
    assert readout.log_scale.grad.abs() > 0 and readout.no_match.grad.abs(
    ).sum() > 0
    # Invalid tokens do not count.
    only0 = readout.loss(x1, x2, lay1, lay2, target,
                         torch.tensor([[True, False]]))
    torch.testing.assert_close(only0, 0.5 * ce0)


def test_token_targets_average_the_valid_ground_truth_per_token():
    """Targets of the matching loss: the mean flow of each frame-1 token's
    16x16 pixels, valid when more than half of them are known."""
    model = _model(matching=dict(type='MatchingFlowReadout',
                                 in_channels=64, loss_weight=1.))
    gt = torch.zeros(2, 40, 48)  # 3 x 3 tokens after padding to 48 x 48
    gt[0, :16, :16] = torch.arange(16.)[None]  # token (0, 0): mean u 7.5
    gt[:, :16, 16:32] = float('nan')  # token (0, 1): unknown
    gt[1, 16:32, 32:] = 4.  # token (1, 2): v = 4
    sample = _flow_sample(40, 48, _boxes([0, 0, 48, 48]),
                          _boxes([0, 0, 48, 48]))
    sample.gt_flow.data = gt
    sample.gt_flow_valid.data[:, 16:32, :8] = False  # token (1, 0): half
    sample.gt_flow_valid.data[:, 16:32, 8:] = True
    positions = torch.tensor([[[0, 0], [0, 1], [1, 2], [1, 0], [2, 1],
                               [0, 0]]])
    mask = torch.tensor([[True] * 5 + [False]])  # the last is padding
    lay = TokenLayout(positions, mask, [[(1, 5)]])
    target, valid = token_flow_targets([sample], lay,
                                       model.backbone.patch_size)
    assert valid.tolist() == [[True, False, True, False, False, False]]
    torch.testing.assert_close(target[0, 0], torch.tensor([7.5, 0.]))
    torch.testing.assert_close(target[0, 2], torch.tensor([0., 4.]))


def test_rope_makes_the_score_depend_on_the_offset_only():
    """With ``rope_base`` two frame-2 copies of a frame-1 token's features
    no longer tie: the one at its own position (offset 0, cosine 1) wins,
    where without RoPE the flow is the mean of both offsets. Moving both
    frames by the same amount changes nothing (relative positions)."""
    torch.manual_seed(2)
    C = 16
    q = torch.randn(1, 1, C)
    x2 = torch.randn(1, 3, C)
    x2[:, 0] = q[:, 0]
    x2[:, 2] = q[:, 0]
    pos1 = torch.tensor([[[3, 2]]])
    pos2 = torch.tensor([[[3, 2], [1, 1], [3, 11]]])  # copies at dx 0, 9

    def flow(rope_base, shift=(0, 0)):
        torch.manual_seed(3)
        readout = MatchingFlowReadout(C, embed_dims=16, patch_size=8,
                                      rope_base=rope_base, init_scale=100.)
        readout.proj.weight.data = torch.eye(16)  # features as they are
        readout.proj.bias.data.zero_()
        s = torch.tensor(shift)
        lay1 = TokenLayout(pos1 + s, None, [[(1, 1)]])
        lay2 = TokenLayout(pos2 + s, None, [[(1, 3)]])
        with torch.no_grad():
            return readout(q, x2, lay1, lay2)[0, 0]  # (u, v) px

    torch.testing.assert_close(flow(None), torch.tensor([4.5 * 8, 0.]),
                               atol=0.05, rtol=0)
    torch.testing.assert_close(flow(100.), torch.zeros(2), atol=0.05,
                               rtol=0)
    torch.testing.assert_close(flow(100., shift=(5, 7)), flow(100.))
    with pytest.raises(ValueError, match='divisible by 4'):
        MatchingFlowReadout(C, embed_dims=18, rope_base=100.)
