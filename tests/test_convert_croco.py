"""tools/convert_croco.py: a CroCo-layout checkpoint -> our backbone."""
import argparse
import os.path as osp
import subprocess
import sys

import pytest
import torch

from winwin_mm.models.backbones import RoPEVisionTransformer

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURE = osp.join(ROOT, 'tests', 'data', 'croco_encoder_parity.pt')


def _write_croco_checkpoint(path, croco):
    """A checkpoint as CroCo v2 releases it: state dict under 'model',
    model kwargs, pretraining-only keys, a decoder, and an argparse
    Namespace (which the plain safe loader rejects)."""
    cfg = croco['config']
    state = dict(croco['state_dict'])
    dim = cfg['embed_dims']
    state['mask_token'] = torch.zeros(1, 1, dim)
    state['enc_pos_embed'] = torch.zeros(24, dim)
    state['prediction_head.weight'] = torch.zeros(768, dim)
    state['decoder_embed.weight'] = torch.randn(48, dim)
    state['dec_blocks.0.norm1.weight'] = torch.ones(48)
    state['dec_norm.weight'] = torch.ones(48)
    torch.save(dict(model=state,
                    croco_kwargs=dict(enc_embed_dim=dim,
                                      enc_depth=cfg['num_layers'],
                                      enc_num_heads=cfg['num_heads'],
                                      pos_embed='RoPE100'),
                    args=argparse.Namespace(lr=1e-4, model='CroCoNet')),
               path)


def _convert(src, dst):
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'convert_croco.py'),
         str(src), str(dst)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.slow
def test_converted_checkpoint_loads_through_init_cfg(tmp_path):
    croco = torch.load(FIXTURE, weights_only=True)
    src, dst = tmp_path / 'croco.pth', tmp_path / 'out' / 'converted.pth'
    _write_croco_checkpoint(src, croco)
    with pytest.raises(Exception):  # the reason the converter exists
        torch.load(src, weights_only=True)
    proc = _convert(src, dst)
    assert proc.returncode == 0, proc.stderr

    converted = torch.load(dst, weights_only=True)
    assert set(converted['decoder_state_dict']) == {
        'decoder_embed.weight', 'dec_blocks.0.norm1.weight',
        'dec_norm.weight'}
    keys = set(converted['state_dict'])
    assert not any(k.startswith(('mask_token', 'enc_pos_embed',
                                 'prediction_head', 'enc_blocks')) for k in keys)
    assert converted['meta']['backbone'] == dict(
        embed_dims=96, num_layers=2, patch_size=16, num_heads=3)

    cfg = croco['config']
    model = RoPEVisionTransformer(
        arch=None, embed_dims=96, num_layers=2, num_heads=3,
        mlp_ratio=cfg['mlp_ratio'], out_indices=(1,),
        init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        full = model(croco['image'])[0].flatten(2).transpose(1, 2)
        win = model(croco['image'], croco['windows'][None])[0]
    torch.testing.assert_close(full, croco['output'], atol=1e-5, rtol=0)
    win = torch.cat([w.flatten(1).t() for w in win])[None]  # 1, 8, C
    torch.testing.assert_close(win, croco['window_output'], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_converter_rejects_a_non_croco_file(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save(dict(model={'backbone.conv.weight': torch.zeros(1)}), src)
    proc = _convert(src, tmp_path / 'x.pth')
    assert proc.returncode != 0
    assert 'not a CroCo checkpoint' in proc.stderr
    assert not (tmp_path / 'x.pth').exists()
