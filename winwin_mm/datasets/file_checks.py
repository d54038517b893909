"""Find which file of a sample cannot be read, whatever the dataset.

A loading transform that meets a corrupt file fails in its own way (mmcv:
``AssertionError: failed to load image``; mmseg's label and depth loaders:
``AttributeError`` on ``None``). These helpers look at the files named in a
sample's data info instead, so the error can name the file.
"""
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
FLO_MAGIC = 202021.25  # Middlebury .flo header


def sample_files(info: Dict) -> List[Tuple[str, str]]:
    """``(key, path)`` for every file of a data info dict: string values of
    keys ending in ``_path`` and list values of keys ending in ``_paths``
    (e.g. ``img_path``, ``seg_map_path``, ``depth_map_path``,
    ``flow_path``)."""
    files = []
    for key, value in info.items():
        if key.endswith('_path') and isinstance(value, str):
            files.append((key, value))
        elif key.endswith('_paths') and isinstance(value, (list, tuple)):
            files += [(f'{key}[{i}]', v) for i, v in enumerate(value)
                      if isinstance(v, str)]
    return files


def _image_problem(data: bytes) -> str:
    import cv2
    buf = np.frombuffer(data, np.uint8)
    if cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) is None:
        return 'is not a decodable image (corrupt or truncated)'
    return ''


def _flo_problem(data: bytes) -> str:
    if len(data) < 12 or np.frombuffer(data[:4], np.float32)[0] != FLO_MAGIC:
        return 'is not a .flo file (bad header)'
    w, h = np.frombuffer(data[4:12], np.int32)
    if len(data) != 12 + int(w) * int(h) * 8:
        return (f'is truncated: a {w}x{h} .flo file has {12 + w * h * 8} '
                f'bytes, this one {len(data)}')
    return ''


def _npy_problem(path: str) -> str:
    try:
        np.load(path, mmap_mode='r', allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        return f'is not a readable .npy file ({e})'
    return ''


def file_problem(path: str) -> str:
    """Why ``path`` cannot be read, or ``''`` when it looks fine (or its
    format is not one checked here: images, ``.flo``, ``.npy``)."""
    if not osp.isfile(path):
        return 'does not exist'
    if osp.getsize(path) == 0:
        return 'is empty'
    ext = osp.splitext(path)[1].lower()
    if ext == '.npy':
        return _npy_problem(path)
    if ext not in IMAGE_EXTS + ('.flo', ):
        return ''
    with open(path, 'rb') as f:
        data = f.read()
    return _flo_problem(data) if ext == '.flo' else _image_problem(data)


def unreadable_files(info: Dict) -> List[Tuple[str, str, str]]:
    """``(key, path, problem)`` for the files of ``info`` that fail
    :func:`file_problem`."""
    found = []
    for key, path in sample_files(info):
        problem = file_problem(path)
        if problem:
            found.append((key, path, problem))
    return found
