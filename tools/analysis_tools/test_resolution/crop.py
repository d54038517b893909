"""Crops for evaluation that also make the crop the 'original' image, so the
segmentor's output and the metric are at the crop's size: the centre crop,
and one crop of a grid (``results['crop_box']``, set by
:class:`GridCropDataset`)."""
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def crop_results(results: dict, y: int, x: int, h: int, w: int) -> dict:
    """Crop ``img`` and ``gt_seg_map`` to rows ``y:y+h``, columns
    ``x:x+w`` and make that the original image (``ori_shape`` and
    ``img_shape``: mmcv's ``CenterCrop`` keeps ``ori_shape``, to which
    mmseg's segmentors resize their prediction, which then no longer
    matches the cropped labels)."""
    H, W = results['img'].shape[:2]
    if h > H or w > W:
        raise ValueError(f'crop {h}x{w} (HxW) is larger than the '
                         f'{H}x{W} image {results.get("img_path")}; '
                         'choose sizes that fit the test images')
    if not (0 <= y <= H - h and 0 <= x <= W - w):
        raise ValueError(f'crop at (y={y}, x={x}) of {h}x{w} leaves the '
                         f'{H}x{W} image {results.get("img_path")}')
    results['img'] = results['img'][y:y + h, x:x + w]
    if 'gt_seg_map' in results:
        results['gt_seg_map'] = results['gt_seg_map'][y:y + h, x:x + w]
    results['img_shape'] = results['ori_shape'] = (h, w)
    return results


@TRANSFORMS.register_module()
class TestCenterCrop(BaseTransform):
    """Crop image and ``gt_seg_map`` to their central ``(height, width)``
    (:func:`crop_results`).

    Args:
        crop_size: ``(height, width)`` in pixels; must fit in the image.

    Example:
        ``dict(type='TestCenterCrop', crop_size=(112, 112))`` after
        ``LoadAnnotations`` in a test pipeline.
    """

    def __init__(self, crop_size) -> None:
        self.crop_size = tuple(int(v) for v in crop_size)

    def transform(self, results: dict) -> dict:
        h, w = self.crop_size
        H, W = results['img'].shape[:2]
        return crop_results(results, max(0, (H - h) // 2),
                            max(0, (W - w) // 2), h, w)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class TestBoxCrop(BaseTransform):
    """Crop image and ``gt_seg_map`` to ``results['crop_box']`` ``(y, x, h,
    w)`` (:func:`crop_results`), the box :class:`GridCropDataset` gives
    each of its samples. Place it after ``LoadAnnotations``.

    Required keys: ``img``, ``crop_box``. Modified: ``img``,
    ``gt_seg_map``, ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        if 'crop_box' not in results:
            raise KeyError('TestBoxCrop needs results["crop_box"]: wrap the '
                           'test dataset in GridCropDataset')
        return crop_results(results, *results['crop_box'])
