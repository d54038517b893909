"""One temperature protocol: encoder and decoder attentions are found
through the model's temperature_modules(); tuning works on the flow model
with the training loss or the EPE; models without temperatures fail
clearly, before training."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader

import winwin_mm  # noqa: F401
from winwin_mm.engine.hooks import TemperatureTuningHook
from winwin_mm.engine.temperature import (get_temperature, learn_temperatures,
                                          temperature_buffer_names,
                                          tune_temperature)
from winwin_mm.models.utils import NoTemperatureError

init_default_scope('mmseg')


def _flow_model():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='WinWinFlowEstimator',
        data_preprocessor=dict(type='FlowDataPreProcessor'),
        backbone=dict(type='RoPEVisionTransformer', arch=None, embed_dims=32,
                      num_layers=2, num_heads=2, out_indices=(1, )),
        decoder=dict(type='RoPECrossDecoder', in_channels=32, embed_dims=32,
                     num_layers=3, num_heads=2, out_indices=(0, 1, 2)),
        decode_head=dict(type='WinDPTHead', in_channels=[32] * 4,
                         channels=16, layer_dims=(8, 16, 16, 32), last_dim=8,
                         num_classes=3, out_channels=3,
                         loss_decode=dict(type='LaplacianFlowLoss'))))
    model.init_weights()
    return model


def _flow_loader(n=2, size=(48, 64)):
    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(n):
        pair = torch.randint(0, 255, (6, *size), dtype=torch.uint8,
                             generator=g)
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
        sample.gt_flow = PixelData(data=torch.randn(2, *size, generator=g))
        items.append(dict(inputs=pair, data_samples=sample))
    return DataLoader(items, batch_size=1, collate_fn=pseudo_collate)


def test_flow_model_exposes_encoder_and_decoder_attentions():
    model = _flow_model()
    names = list(model.temperature_modules())
    assert names == ['backbone.layers.0.attn', 'backbone.layers.1.attn'] + [
        f'decoder.blocks.{i}.{a}' for i in range(3)
        for a in ('attn', 'cross_attn')]
    model.set_temperature(1.3)
    assert torch.equal(model.decoder.blocks[2].cross_attn.temperature,
                       torch.full((2, ), 1.3))
    t = torch.arange(16.).reshape(8, 2) / 10 + 1
    model.set_temperature(t)
    assert torch.equal(get_temperature(model), t)
    assert torch.equal(model.state_dict()['decoder.blocks.0.cross_attn.'
                                          'temperature'], t[3])
    with pytest.raises(ValueError, match=r'\(num_layers, num_heads\)'):
        model.set_temperature(torch.ones(3, 2))


@pytest.mark.parametrize('objective', ['loss', 'decode.epe'])
def test_search_tunes_the_flow_model(objective):
    model = _flow_model()
    report = tune_temperature(model, _flow_loader(), 'search',
                              grid=(0.8, 1.6, 0.2), progress=False,
                              objective=objective)
    assert report['objective'] == objective
    assert report['best'] in [0.8, 1.0, 1.2, 1.4, 1.6]
    # the best value is set everywhere, decoder cross-attention included
    assert torch.equal(model.decoder.blocks[1].cross_attn.temperature,
                       torch.full((2, ), report['best']))
    assert min(v for _, v in report['curve']) == report['best_loss']


def test_unknown_objective_names_the_available_keys():
    with pytest.raises(KeyError, match='decode.loss_flow'):
        tune_temperature(_flow_model(), _flow_loader(1), 'search',
                         grid=(1.0, 1.2, 0.2), progress=False,
                         objective='decode.miou')


def test_learned_mode_reaches_decoder_cross_attention():
    model = _flow_model()
    names = temperature_buffer_names(model)
    assert 'decoder.blocks.0.cross_attn.temperature' in names
    out = learn_temperatures(model, _flow_loader(), num_iters=3, lr=0.2,
                             progress=False)
    learned = out['temperature']  # 8, 2
    assert learned.shape == (8, 2)
    assert not torch.allclose(learned[3], torch.ones(2))  # cross_attn 0
    assert torch.equal(model.decoder.blocks[0].cross_attn.temperature,
                       learned[3])


def test_model_without_temperatures_fails_clearly_and_early():
    model = MODELS.build(dict(
        type='WinWinEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(type='IwinTransformer', embed_dims=16,
                      depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                      window_size=7),
        decode_head=dict(type='FCNHead', in_channels=128, channels=8,
                         in_index=3, num_convs=1, num_classes=3)))
    with pytest.raises(NoTemperatureError, match='IwinTransformer'):
        model.temperature_modules()
    hook = TemperatureTuningHook()
    with pytest.raises(NoTemperatureError, match='TemperatureTuningHook'):
        hook.before_train(SimpleNamespace(model=model))
