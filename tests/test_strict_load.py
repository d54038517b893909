"""A checkpoint whose weights do not fit the model produces no numbers.

``winwin_mm.apis.init_model`` (segmentation, depth, flow),
``tools/test.py`` and ``tools/tune_temperature.py`` refuse missing,
unexpected and mis-shaped weights with the first offending keys and shapes,
exit non-zero and write no results; ``strict=False`` / ``--partial-load``
load what fits. Truncated or foreign files are one line naming the file.
"""
import argparse
import os.path as osp
import re

import pytest
import torch
from e2e_helpers import BDD_CONFIG, ROOT, run_tool, tiny_bdd_options

import winwin_mm  # noqa: F401
from winwin_mm.apis import init_model
from winwin_mm.datasets import generate_bdd100k_layout
from winwin_mm.utils.strict_load import (CheckpointFileError,
                                         CheckpointMismatchError,
                                         check_checkpoint_file,
                                         read_checkpoint)

FLOW_CONFIG = osp.join(ROOT, 'configs', '_base_', 'models',
                       'winwin_crocoflow_vit-b16.py')
DEPTH_CONFIG = osp.join(ROOT, 'configs', 'winwin',
                        'winwin-depth_vit-t16-rope_1xb4-1200_synthetic-'
                        'rooms-320x240.py')


def _seg(dims: int = 64) -> dict:
    """A 2-block ViT of ``dims`` channels with a 1-block ConvNeXt head
    (segmentation or depth)."""
    return {'model.backbone.arch': None, 'model.backbone.embed_dims': dims,
            'model.backbone.num_layers': 2, 'model.backbone.num_heads': 2,
            'model.backbone.out_indices': [1],
            'model.decode_head.in_channels': dims,
            'model.decode_head.channels': 32,
            'model.decode_head.num_convs': 1}


def _flow(dims: int = 64) -> dict:
    """The CroCo-Flow base shrunk: encoder ``dims``/2/2, decoder 32/3/2."""
    options = _seg(dims)
    options.pop('model.decode_head.num_convs')
    options.update({
        'model.decoder.in_channels': dims, 'model.decoder.embed_dims': 32,
        'model.decoder.num_layers': 3, 'model.decoder.num_heads': 2,
        'model.decoder.out_indices': [0, 1, 2],
        'model.decode_head.in_channels': [dims, 32, 32, 32],
        'model.decode_head.channels': 16,
        'model.decode_head.layer_dims': [8, 16, 16, 16],
        'model.decode_head.last_dim': 8})
    return options


CASES = dict(seg=(BDD_CONFIG, _seg), depth=(DEPTH_CONFIG, _seg),
             flow=(FLOW_CONFIG, _flow))
META = dict(dataset_meta=dict(classes=('a', 'b'), palette=[[0, 0, 0]] * 2))


def _save(model, path, **extra) -> str:
    torch.save(dict(state_dict=model.state_dict(), meta=META, **extra), path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(CASES))
def test_init_model_strict(tmp_path, task):
    config, options = CASES[task]
    tiny = options(64)
    torch.manual_seed(0)
    source = init_model(config, cfg_options=tiny)
    ckpt = _save(source, tmp_path / 'ok.pth')

    model = init_model(config, ckpt, cfg_options=tiny)
    assert not model.training and model.dataset_meta == META['dataset_meta']
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k

    # Another model size: every mis-shaped weight is an error with shapes.
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(config, ckpt, cfg_options=options(96))
    message = str(err.value)
    assert ckpt in message and 'shape mismatches' in message
    assert ('backbone.patch_embed.proj.weight: checkpoint (64, 3, 16, 16), '
            'model (96, 3, 16, 16)') in message
    assert 'strict=False' in message

    # Missing and unexpected keys, and the partial load that accepts them.
    state = source.state_dict()
    dropped = next(k for k in state if k.startswith('decode_head'))
    state.pop(dropped)
    state['backbone.extra.weight'] = torch.zeros(3)
    torch.save(dict(state_dict=state), tmp_path / 'odd.pth')
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(config, str(tmp_path / 'odd.pth'), cfg_options=tiny)
    assert f'missing         {dropped}' in str(err.value)
    assert 'unexpected      backbone.extra.weight' in str(err.value)
    partial = init_model(config, str(tmp_path / 'odd.pth'),
                         cfg_options=tiny, strict=False)
    key = 'backbone.patch_embed.proj.weight'
    assert torch.equal(partial.state_dict()[key], source.state_dict()[key])


def test_unreadable_files_are_one_line(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1000)}), good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:500])
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    pickled = tmp_path / 'namespace.pth'
    torch.save(dict(args=argparse.Namespace(a=1)), pickled)
    for path, reason in [(truncated, 'truncated'), (text, 'cannot be read'),
                         (pickled, 'safe loader refuses'),
                         (tmp_path / 'none.pth', 'does not exist')]:
        with pytest.raises(CheckpointFileError) as err:
            read_checkpoint(str(path))
        assert str(path) in str(err.value) and reason in str(err.value)
        assert '\n' not in str(err.value)
    # The cheap check tools/train.py runs on --resume / load_from files.
    check_checkpoint_file(str(good))
    for path in (truncated, text, tmp_path / 'none.pth'):
        with pytest.raises(CheckpointFileError, match=str(path)):
            check_checkpoint_file(str(path))


@pytest.fixture(scope='module')
def bdd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bdd100k_strict')
    generate_bdd100k_layout(str(root), 'train', 1, (96, 128), 0)
    generate_bdd100k_layout(str(root), 'val', 1, (96, 128), 1)
    return root


@pytest.mark.slow
def test_tools_refuse_a_checkpoint_of_another_model(bdd_root, tmp_path):
    """tools/test.py and tools/tune_temperature.py: non-zero exit, the first
    offending keys, no metrics, predictions or tuned checkpoint written;
    --partial-load evaluates anyway; a truncated file is one line."""
    options = tiny_bdd_options(bdd_root)
    torch.manual_seed(0)
    source = init_model(BDD_CONFIG, cfg_options=_seg(96))
    ckpt = _save(source, tmp_path / 'vit96.pth')
    test = osp.join(ROOT, 'tools', 'test.py')

    work, out = tmp_path / 'test', tmp_path / 'pred'
    log = run_tool(test, BDD_CONFIG, ckpt, '--work-dir', str(work),
                   '--out', str(out), '--cfg-options', *options, ok=False)
    assert f'error: checkpoint {ckpt} does not fit the model' in log
    assert ('backbone.patch_embed.proj.weight: checkpoint (96, 3, 16, 16), '
            'model (64, 3, 16, 16)') in log
    assert 'pass --partial-load' in log
    assert not re.search(r'Iter\(test\).*mIoU:', log) and not out.exists()
    assert list(work.rglob('*.json')) == []

    log = run_tool(test, BDD_CONFIG, ckpt, '--work-dir', str(work),
                   '--partial-load', '--cfg-options', *options)
    assert 'partial load of' in log
    assert re.search(r'Iter\(test\).*mIoU:', log)

    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(open(ckpt, 'rb').read()[:4096])
    log = run_tool(test, BDD_CONFIG, str(truncated), '--cfg-options',
                   *options, ok=False)
    assert f'error: checkpoint {truncated} cannot be read' in log
    assert 'Traceback' not in log

    tuned = tmp_path / 'tuned.pth'
    log = run_tool(osp.join(ROOT, 'tools', 'tune_temperature.py'),
                   BDD_CONFIG, ckpt, '--out', str(tuned), '--set', '1.0',
                   '--work-dir', str(tmp_path / 'tune'), '--cfg-options',
                   *options, ok=False)
    assert f'error: checkpoint {ckpt} does not fit the model' in log
    assert 'pass --partial-load' in log
    assert not tuned.exists() and not (tmp_path / 'tune').exists()
