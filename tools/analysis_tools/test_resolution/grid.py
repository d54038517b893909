"""The paper's grid of crops (Figure 5): every test image tiled with crops
of one size, each crop a sample of the test loop."""
import copy
from typing import List, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.fileio import get
from mmseg.registry import DATASETS
from torch.utils.data import Dataset

Box = Tuple[int, int, int, int]  # (y, x, h, w) in pixels


def grid_offsets(length: int, crop: int) -> List[int]:
    """Start offsets of ``ceil(length / crop)`` crops covering ``[0,
    length)``, spread evenly from 0 to ``length - crop`` (the last crop
    ends at the border; crops overlap only when ``crop`` does not divide
    ``length``)."""
    if crop > length:
        raise ValueError(f'crop {crop} is larger than the image side '
                         f'{length}; choose sizes that fit the test images')
    n = -(-length // crop)  # ceil
    return np.linspace(0, length - crop, n).round().astype(int).tolist()


def grid_boxes(image_hw: Tuple[int, int], crop_hw: Tuple[int, int]
               ) -> List[Box]:
    """The grid's crops of an ``image_hw`` image, row-major, as ``(y, x, h,
    w)``."""
    (H, W), (h, w) = image_hw, crop_hw
    return [(y, x, h, w) for y in grid_offsets(H, h)
            for x in grid_offsets(W, w)]


@DATASETS.register_module()
class GridCropDataset(Dataset):
    """Each image of ``dataset`` as a grid of ``crop_size`` crops.

    Sample ``i`` is crop ``i % K`` of image ``i // K`` (``K`` crops per
    image, :func:`grid_boxes`): the wrapped dataset's data info plus
    ``crop_box = (y, x, h, w)``, through the wrapped dataset's pipeline,
    which must crop it (``TestBoxCrop`` after ``LoadAnnotations``). The
    grid comes from the first image's size; every image must have that
    size (a benchmark's test images do: BDD100K 1280x720), else
    ``TestBoxCrop`` fails on it.

    Args:
        dataset: the test dataset config (or a built dataset).
        crop_size: ``(height, width)`` of the crops in pixels.
    """

    def __init__(self, dataset, crop_size: Sequence[int]) -> None:
        self.dataset = (DATASETS.build(copy.deepcopy(dataset))
                        if isinstance(dataset, dict) else dataset)
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        if len(self.dataset) == 0:
            raise ValueError('GridCropDataset: the wrapped dataset is empty')
        self.crop_size = tuple(int(v) for v in crop_size)
        first = self.dataset.get_data_info(0)['img_path']
        H, W = mmcv.imfrombytes(get(first)).shape[:2]
        self.image_size = (H, W)
        self.boxes = grid_boxes(self.image_size, self.crop_size)

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo (classes and palette for the
        metric)."""
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        """Nothing to do: initialised on construction."""

    def __len__(self) -> int:
        return len(self.dataset) * len(self.boxes)

    def get_data_info(self, idx: int) -> dict:
        image, k = divmod(idx, len(self.boxes))
        info = copy.deepcopy(self.dataset.get_data_info(image))
        info['crop_box'] = self.boxes[k]
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.dataset.pipeline(self.get_data_info(idx))
