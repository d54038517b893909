"""Corrupt data files: an error naming the file and the dataset index, or
(``skip_unreadable=True``) a warning, the next readable sample and a count
at the end of the epoch.

``CheckedDataset`` wraps any dataset; here mmseg's ``BDD100KDataset``
(image, label) and ``NYUDataset`` (depth), as tools/train.py wraps them.
"""
import os
import os.path as osp
import re

import pytest
from e2e_helpers import BDD_CONFIG, ROOT, run_tool, tiny_bdd_options
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import winwin_mm  # noqa: F401
from winwin_mm.datasets import (CheckedDataset, UnreadableSampleError,
                                checked_dataset, generate_bdd100k_layout,
                                generate_nyu_layout)
from winwin_mm.utils.data_guard import checked_dataset_cfg

SEG_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
DEPTH_PIPELINE = [dict(type='LoadImageFromFile'),
                  dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                  dict(type='PackSegInputs')]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def _bdd(root, **wrapper) -> CheckedDataset:
    generate_bdd100k_layout(str(root), 'train', 3, (48, 64), 0)
    return DATASETS.build(checked_dataset_cfg(dict(
        type='BDD100KDataset', data_root=str(root),
        data_prefix=dict(img_path='images/10k/train',
                         seg_map_path='labels/sem_seg/masks/train'),
        pipeline=SEG_PIPELINE, **wrapper)))


def _nyu(root, **wrapper) -> CheckedDataset:
    generate_nyu_layout(str(root), 'train', 3, (48, 64), 0)
    return DATASETS.build(checked_dataset_cfg(dict(
        type='NYUDataset', data_root=str(root),
        data_prefix=dict(img_path='images/train',
                         depth_map_path='annotations/train'),
        pipeline=DEPTH_PIPELINE, **wrapper)))


def _corrupt(path: str, how: str) -> None:
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # truncated, or not an image at all
        f.write(data[:60] if how == 'truncate' else b'not an image' * 8)


@pytest.mark.parametrize('kind,key', [('image', 'img_path'),
                                      ('label', 'seg_map_path'),
                                      ('depth', 'depth_map_path')])
def test_error_names_file_and_index(tmp_path, kind, key):
    dataset = (_nyu if kind == 'depth' else _bdd)(tmp_path)
    dataset[1]  # readable before
    bad = dataset.get_data_info(1)[key]
    _corrupt(bad, 'truncate' if kind == 'image' else 'garbage')
    with pytest.raises(UnreadableSampleError) as err:
        dataset[1]
    message = str(err.value)
    assert 'dataset index 1 of' in message and bad in message
    assert 'not a decodable image' in message
    assert 'skip_unreadable=True' in message  # the way out
    dataset[0], dataset[2]  # the others still load


def test_missing_file_and_non_file_errors(tmp_path):
    dataset = _bdd(tmp_path)
    os.remove(dataset.get_data_info(2)['img_path'])
    with pytest.raises(UnreadableSampleError,
                       match='index 2 .*does not exist'):
        dataset[2]
    # A pipeline error that is not about files is re-raised as it is, with
    # the index and files in a note, and never skipped.
    dataset.dataset.pipeline.transforms.insert(
        1, lambda results: results['no_such_key'])
    dataset.skip_unreadable = True
    with pytest.raises(KeyError) as err:
        dataset[0]
    assert any('dataset index 0' in n for n in err.value.__notes__)


def test_skip_unreadable_warns_and_counts(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(checked_dataset, 'print_log',
                        lambda msg, *args: warnings.append(msg))
    dataset = _bdd(tmp_path, skip_unreadable=True, max_skips=1)
    assert isinstance(dataset, CheckedDataset) and dataset.skip_unreadable
    good = dataset[2]
    bad = dataset.get_data_info(1)['img_path']
    _corrupt(bad, 'truncate')
    out = dataset[1]  # the next readable sample instead
    assert out['data_samples'].img_path == good['data_samples'].img_path
    assert dataset.num_skipped == 1
    assert len(warnings) == 1 and bad in warnings[0]
    assert 'dataset index 1' in warnings[0]
    dataset[0]
    assert dataset.num_skipped == 1
    with pytest.raises(UnreadableSampleError, match='more than max_skips=1'):
        dataset[1]


@pytest.mark.slow
def test_training_stops_or_skips_and_reports(tmp_path):
    """Through tools/train.py: the default stops at the corrupt image with
    its name and index; skip_unreadable=True in the dataset config trains
    (with 2 loader workers) and reports the count at the end of the epoch."""
    root = tmp_path / 'bdd'
    generate_bdd100k_layout(str(root), 'train', 4, (96, 128), 0)
    generate_bdd100k_layout(str(root), 'val', 1, (96, 128), 1)
    bad = sorted((root / 'images/10k/train').glob('*.jpg'))[2]
    _corrupt(str(bad), 'truncate')
    train = osp.join(ROOT, 'tools', 'train.py')
    options = tiny_bdd_options(root, 2) + ['custom_hooks=[]']

    log = run_tool(train, BDD_CONFIG, '--work-dir', str(tmp_path / 'a'),
                   '--cfg-options', *options, ok=False)
    assert re.search(r'UnreadableSampleError: dataset index \d of '
                     r'BDD100KDataset cannot be loaded: img_path '
                     + re.escape(str(bad)), log), log[-3000:]

    log = run_tool(train, BDD_CONFIG, '--work-dir', str(tmp_path / 'b'),
                   '--cfg-options', *options,
                   'train_dataloader.dataset.skip_unreadable=True',
                   'train_dataloader.num_workers=2')
    assert 'skipped: dataset index' in log and str(bad) in log
    count = re.search(r'training epoch 1: (\d+) unreadable samples skipped',
                      log)
    assert count is not None and int(count.group(1)) >= 1, log[-3000:]
    assert (tmp_path / 'b' / 'iter_2.pth').exists()
