"""A generated segmentation dataset for the demo and the tests.

The scenes (:func:`.scenes.render_scene`) are written once as JPEG images
and PNG label maps, atomically (a temporary folder next to the target is
renamed into place, so an interrupted run never leaves half a dataset), and
then reused. Everything is deterministic by seed; image ``i`` of a split does
not depend on how many images are generated.
"""
import os.path as osp
from typing import Optional, Tuple

import numpy as np

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from .atomic_split import report_existing_split, write_split
from .scenes import BDD100K_IDS, CLASSES, PALETTE, render_scene


def _write_scenes(img_dir: str, ann_dir: str, split: str, num_images: int,
                  size: Tuple[int, int], seed: int,
                  label_ids: Optional[Tuple[int, ...]] = None) -> bool:
    """Write ``num_images`` scenes unless ``img_dir`` exists already
    (atomically, see :func:`write_split`).

    Args:
        img_dir: Target folder of the ``.jpg`` images.
        ann_dir: Target folder of the ``.png`` label maps.
        split: Split name; part of the seed, so splits differ.
        num_images: Number of image / label pairs.
        size: ``(height, width)`` in pixels.
        seed: Base seed.
        label_ids: Label value written for each class of ``CLASSES``
            (e.g. the BDD100K ids); None writes the class indices.

    Returns:
        True when files were generated, False when they existed.
    """
    height, width = size
    lut = np.full(256, 255, np.uint8)
    lut[:len(CLASSES)] = label_ids or range(len(CLASSES))

    def render(rng: np.random.Generator, i: int):
        img, lab = render_scene(rng, height, width)
        return f'{split}_{i:06d}', img, lut[lab]

    return write_split(img_dir, ann_dir, split, num_images, seed, render,
                       'images')


def generate_synthetic_scenes(root: str,
                              split: str = 'train',
                              num_images: int = 200,
                              size: Tuple[int, int] = (352, 640),
                              seed: int = 0) -> Tuple[str, str]:
    """Write scenes as ``{root}/images/{split}/*.jpg`` and
    ``{root}/labels/{split}/*.png`` (class indices of ``CLASSES``), unless
    the image folder exists already.

    Args:
        root: Dataset root.
        split: Split name (``'train'``, ``'val'``...).
        num_images: Number of image / label pairs.
        size: ``(height, width)`` in pixels.
        seed: Base seed.

    Returns:
        The image and label folders.
    """
    img_dir = osp.join(root, 'images', split)
    ann_dir = osp.join(root, 'labels', split)
    _write_scenes(img_dir, ann_dir, split, num_images, size, seed)
    return img_dir, ann_dir


def generate_bdd100k_layout(root: str,
                            split: str = 'train',
                            num_images: int = 4,
                            size: Tuple[int, int] = (720, 1280),
                            seed: int = 0) -> Tuple[str, str]:
    """Write the same scenes in the real BDD100K layout, for mmseg's own
    ``BDD100KDataset``: ``{root}/images/10k/{split}/*.jpg`` and
    ``{root}/labels/sem_seg/masks/{split}/*.png`` with the 19 Cityscapes
    train ids (road 0, sidewalk 1, building 2, pole 5, traffic sign 7,
    vegetation 8, sky 10, person 11, car 13; 255 ignore).

    Args:
        root: Dataset root (what ``data_root`` of the BDD100K config is).
        split: ``'train'`` or ``'val'``.
        num_images: Number of image / label pairs.
        size: ``(height, width)`` in pixels; BDD100K is ``(720, 1280)``.
        seed: Base seed.

    Returns:
        The image and label folders.
    """
    img_dir = osp.join(root, 'images', '10k', split)
    ann_dir = osp.join(root, 'labels', 'sem_seg', 'masks', split)
    _write_scenes(img_dir, ann_dir, split, num_images, size, seed,
                  label_ids=BDD100K_IDS)
    return img_dir, ann_dir


@DATASETS.register_module()
class SyntheticSceneDataset(BaseSegDataset):
    """Generated street scenes, written on first use.

    The files are generated (see :func:`generate_synthetic_scenes`) when the
    image folder is missing, then loaded like any mmseg dataset, so the usual
    ``pipeline``, ``test_mode``, ``indices``... apply.

    Args:
        data_root: Where the dataset lives (created if missing).
        split: Split name; selects ``images/{split}`` and ``labels/{split}``
            and enters the seed.
        num_images: Number of images generated for this split.
        img_size: ``(height, width)`` of the generated images.
        seed: Base seed of the generation.
        data_prefix: Override of the image / label folders, relative to
            ``data_root``; generation writes there.
        **kwargs: Other ``BaseSegDataset`` arguments.
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self,
                 data_root: str = 'data/synthetic_scenes',
                 split: str = 'train',
                 num_images: int = 200,
                 img_size: Tuple[int, int] = (352, 640),
                 seed: int = 0,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path=osp.join('images', split),
                               seg_map_path=osp.join('labels', split))
        img_dir = osp.join(data_root, data_prefix['img_path'])
        if not _write_scenes(img_dir,
                             osp.join(data_root, data_prefix['seg_map_path']),
                             split, num_images, tuple(img_size), seed):
            report_existing_split(img_dir, num_images, tuple(img_size))
        kwargs.setdefault('img_suffix', '.jpg')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         **kwargs)
