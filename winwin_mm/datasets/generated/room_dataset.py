"""A generated depth dataset in the NYUv2 layout, for the demo and the tests.

The rooms (:func:`.rooms.render_room`, exact ray-cast depth) are written
once in the layout that mmseg's ``NYUDataset`` reads::

    {root}/images/{split}/{room_type}_{index:06d}.jpg
    {root}/annotations/{split}/{room_type}_{index:06d}.png   # uint16, mm

The PNGs hold millimetres, so ``LoadDepthAnnotation(depth_rescale_factor=
1e-3)`` gives metres exactly as for NYUv2; 0 marks invalid pixels. Writing is
atomic (a temporary folder next to the target is renamed into place, as for
the segmentation scenes), and everything is deterministic by seed: image
``i`` of a split does not depend on how many images are generated.
"""
import os.path as osp
from typing import Optional, Tuple

import numpy as np
from mmseg.datasets import NYUDataset
from mmseg.registry import DATASETS

from .atomic_split import report_existing_split, write_split
from .rooms import depth_to_png16, render_room, room_type


def _write_rooms(img_dir: str, ann_dir: str, split: str, num_images: int,
                 size: Tuple[int, int], seed: int) -> bool:
    """Write ``num_images`` rooms unless ``img_dir`` exists already
    (atomically, see :func:`write_split`).

    Args:
        img_dir: Target folder of the ``.jpg`` images.
        ann_dir: Target folder of the 16-bit ``.png`` depth maps.
        split: Split name; part of the seed, so splits differ.
        num_images: Number of image / depth pairs.
        size: ``(height, width)`` in pixels.
        seed: Base seed.

    Returns:
        True when files were generated, False when they existed.
    """
    height, width = size

    def render(rng: np.random.Generator, i: int):
        name = f'{room_type(rng)}_{i:06d}'  # draws from rng before the room
        img, depth = render_room(rng, height, width)
        return name, img, depth_to_png16(depth)

    return write_split(img_dir, ann_dir, split, num_images, seed, render,
                       'rooms')


def generate_nyu_layout(root: str,
                        split: str = 'train',
                        num_images: int = 4,
                        size: Tuple[int, int] = (480, 640),
                        seed: int = 0) -> Tuple[str, str]:
    """Write rooms in mmseg's NYUv2 layout unless the split exists.

    Args:
        root: Dataset root (``data_root`` of the NYU config).
        split: ``'train'`` or ``'test'`` (mmseg's NYU config evaluates on
            ``test``); any name works.
        num_images: Number of image / depth pairs.
        size: ``(height, width)`` in pixels; NYUv2 is ``(480, 640)``.
        seed: Base seed.

    Returns:
        The image folder ``{root}/images/{split}`` and the depth folder
        ``{root}/annotations/{split}``.
    """
    img_dir = osp.join(root, 'images', split)
    ann_dir = osp.join(root, 'annotations', split)
    _write_rooms(img_dir, ann_dir, split, num_images, tuple(size), seed)
    return img_dir, ann_dir


@DATASETS.register_module()
class SyntheticNYUDataset(NYUDataset):
    """Generated rooms in the NYUv2 layout, written on first use.

    Generates with :func:`generate_nyu_layout` when the image folder is
    missing, then loads exactly as mmseg's ``NYUDataset`` (same pipeline
    keys, ``category_id`` from the file name).

    Example::

        train_dataloader = dict(dataset=dict(
            type='SyntheticNYUDataset', data_root='data/synthetic_nyu',
            split='train', num_images=400, img_size=(480, 640),
            pipeline=train_pipeline))

    Args:
        data_root: Where the dataset lives (created if missing).
        split: Split name; selects ``images/{split}`` and
            ``annotations/{split}`` and enters the seed.
        num_images: Number of images generated for this split.
        img_size: ``(height, width)`` of the generated images.
        seed: Base seed of the generation.
        data_prefix: Override of the image / depth folders, relative to
            ``data_root``; generation writes there.
        **kwargs: Other ``NYUDataset`` arguments.
    """

    def __init__(self,
                 data_root: str = 'data/synthetic_nyu',
                 split: str = 'train',
                 num_images: int = 400,
                 img_size: Tuple[int, int] = (480, 640),
                 seed: int = 0,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path=osp.join('images', split),
                               depth_map_path=osp.join('annotations', split))
        img_dir = osp.join(data_root, data_prefix['img_path'])
        if not _write_rooms(img_dir,
                            osp.join(data_root,
                                     data_prefix['depth_map_path']), split,
                            num_images, tuple(img_size), seed):
            report_existing_split(img_dir, num_images, tuple(img_size))
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         **kwargs)
