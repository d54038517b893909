"""A centre crop for evaluation that also makes the crop the 'original'
image, so the segmentor's output and the metric are at the crop's size."""
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class TestCenterCrop(BaseTransform):
    """Crop image and ``gt_seg_map`` to their central ``(height, width)``.

    mmcv's ``CenterCrop`` crops both but keeps ``ori_shape`` (the loaded
    image's size), to which mmseg's segmentors resize their prediction, so
    the prediction would no longer match the cropped labels; this transform
    sets ``ori_shape`` and ``img_shape`` to the crop.

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
        if h > H or w > W:
            raise ValueError(f'crop {h}x{w} (HxW) is larger than the '
                             f'{H}x{W} image {results.get("img_path")}; '
                             'choose sizes that fit the test images')
        y, x = (H - h) // 2, (W - w) // 2
        results['img'] = results['img'][y:y + h, x:x + w]
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = results['gt_seg_map'][y:y + h, x:x + w]
        results['img_shape'] = results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'
