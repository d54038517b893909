"""Write a generated dataset split atomically and deterministically.

Shared by the generated segmentation scenes and depth rooms (the flow
scenes use :func:`_rename_dir` only): both folders of a split are filled
inside one temporary folder next to the targets, then renamed into place
(annotations first, images last), so an existing image folder always means
a complete split and an interrupted run leaves nothing. Image ``i`` gets its
own generator seeded from ``(seed, split, i)``, so it does not depend on how
many images are generated.
"""
import os
import os.path as osp
import shutil
import tempfile
import time
import zlib
from typing import Callable, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log

# (rng, index) -> (file stem, BGR uint8 image, annotation array for a PNG)
RenderFn = Callable[[np.random.Generator, int], Tuple[str, np.ndarray,
                                                     np.ndarray]]


def write_split(img_dir: str, ann_dir: str, split: str, num_images: int,
                seed: int, render: RenderFn, what: str = 'images') -> bool:
    """Write ``num_images`` JPEG / PNG pairs unless ``img_dir`` exists.

    Args:
        img_dir: Target folder of the ``.jpg`` images.
        ann_dir: Target folder of the ``.png`` annotations.
        split: Split name; part of the seed, so splits differ.
        num_images: Number of pairs.
        seed: Base seed.
        render: Draws one pair from its generator (see ``RenderFn``).
        what: What is generated, for the progress messages.

    Returns:
        True when files were generated, False when they existed.
    """
    if osp.isdir(img_dir):
        return False
    # Common parent of both targets, so that the renames stay on one disk.
    base = osp.commonpath([osp.abspath(img_dir), osp.abspath(ann_dir)])
    os.makedirs(base, exist_ok=True)
    print_log(f'generating {num_images} synthetic {what} into {img_dir} '
              f'(annotations into {ann_dir})', logger='current')
    start = time.time()
    tmp = tempfile.mkdtemp(prefix=f'.tmp-synthetic-{split}-', dir=base)
    try:
        for i in range(num_images):
            rng = np.random.default_rng([seed, zlib.crc32(split.encode()), i])
            name, img, ann = render(rng, i)
            mmcv.imwrite(img, osp.join(tmp, 'img', name + '.jpg'),
                         params=[cv2.IMWRITE_JPEG_QUALITY, 92])
            mmcv.imwrite(ann, osp.join(tmp, 'ann', name + '.png'))
        for src, dst in (('ann', ann_dir), ('img', img_dir)):
            os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
            _rename_dir(osp.join(tmp, src), dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_log(f'generated {num_images} {what} in {time.time() - start:.1f} s',
              logger='current')
    return True


def report_existing_split(img_dir: str, num_images: int,
                          size: Tuple[int, int]) -> None:
    """Warn when a split that is reused, not generated, differs from what
    was asked for: another number of images, or images of another size
    (e.g. a size given as ``(width, height)``; sizes are ``(height,
    width)``). The files are used as they are.

    Args:
        img_dir: The existing folder of ``.jpg`` images.
        num_images: The number of images asked for.
        size: The ``(height, width)`` asked for.
    """
    names = sorted(f for f in os.listdir(img_dir) if f.endswith('.jpg'))
    keep = 'using them as they are (delete the folder to regenerate)'
    if len(names) != num_images:
        print_log(f'{img_dir} holds {len(names)} images, not {num_images}; '
                  f'{keep}', logger='current', level=30)
    if not names:
        return
    found = cv2.imread(osp.join(img_dir, names[0])).shape[:2]  # H, W
    if tuple(found) != tuple(size):
        print_log(f'{img_dir} holds images of (height, width) = '
                  f'{tuple(found)}, not {tuple(size)} (sizes are (height, '
                  f'width)); {keep}', logger='current', level=30)


def _rename_dir(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except OSError:
        # Another process (e.g. another rank) wrote the same deterministic
        # split first; its copy is as good as ours.
        for _ in range(100):
            if osp.isdir(dst) and os.listdir(dst):
                return
            time.sleep(0.1)
        raise RuntimeError(f'could not move generated files to {dst}, which '
                           'exists; delete it to regenerate the split')
