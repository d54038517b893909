"""Asymmetric colour jitter of an image pair (CroCo-Flow / RAFT style)."""
import math
from typing import List, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

Op = Tuple[str, float]


def shift_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue of a uint8 BGR image by ``shift`` turns of the colour
    wheel (``[-0.5, 0.5]``).

    mmcv's ``adjust_hue`` casts a negative shift to ``np.uint8``, which
    numpy >= 2 refuses (OverflowError), so the rotation is done here in
    cv2's 0-255 full-range HSV with modular arithmetic.
    """
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    step = int(round(shift * 256))
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + step) % 256).astype(
        np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


@TRANSFORMS.register_module()
class FlowColorJitter(BaseTransform):
    """torchvision-style ``ColorJitter`` on both frames of a pair.

    With probability ``asymmetric_prob`` each frame gets its own jitter
    (photometric changes between frames, as real cameras have); otherwise
    both get the same one, so brightness constancy holds. A jitter draws a
    brightness, contrast and saturation factor in ``[max(0, 1 - x), 1 + x]``
    and a hue shift in ``[-hue, hue]`` (fraction of the colour wheel), and
    applies them in random order with mmcv's ``adjust_brightness`` /
    ``adjust_contrast`` / ``adjust_color`` and :func:`shift_hue`.
    Defaults: CroCo-Flow's ``ColorJitter(0.4, 0.4, 0.4, 0.5 / pi)`` with
    asymmetric probability 0.2.

    Required keys: ``img``, ``img2`` (uint8 BGR). Modified: the same.

    Args:
        brightness: brightness jitter amount (0 = off).
        contrast: contrast jitter amount (0 = off).
        saturation: saturation jitter amount (0 = off).
        hue: hue jitter, at most 0.5 (0 = off).
        asymmetric_prob: probability of independent jitters per frame.
    """

    def __init__(self,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.4,
                 hue: float = 0.5 / math.pi,
                 asymmetric_prob: float = 0.2) -> None:
        if min(brightness, contrast, saturation, hue) < 0 or hue > 0.5:
            raise ValueError('jitter amounts must be >= 0 and hue <= 0.5, got '
                             f'{(brightness, contrast, saturation, hue)}')
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.saturation = float(saturation)
        self.hue = float(hue)
        self.asymmetric_prob = float(asymmetric_prob)

    def _draw(self) -> List[Op]:
        """One jitter: the ops with their factors, in random order."""
        ops = []
        for name, amount in (('brightness', self.brightness),
                             ('contrast', self.contrast),
                             ('saturation', self.saturation)):
            if amount > 0:
                ops.append((name, np.random.uniform(max(0., 1 - amount),
                                                    1 + amount)))
        if self.hue > 0:
            ops.append(('hue', np.random.uniform(-self.hue, self.hue)))
        return [ops[i] for i in np.random.permutation(len(ops))]

    @staticmethod
    def _apply(img: np.ndarray, ops: List[Op]) -> np.ndarray:
        for name, f in ops:
            if name == 'brightness':
                img = mmcv.adjust_brightness(img, f, backend='cv2')
            elif name == 'contrast':
                img = mmcv.adjust_contrast(img, f, backend='cv2')
            elif name == 'saturation':
                img = mmcv.adjust_color(img, alpha=f, backend='cv2')
            else:
                img = shift_hue(img, f)
        return img

    def transform(self, results: dict) -> dict:
        ops1 = self._draw()
        ops2 = (self._draw() if np.random.rand() < self.asymmetric_prob
                else ops1)
        results['img'] = self._apply(results['img'], ops1)
        results['img2'] = self._apply(results['img2'], ops2)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, asymmetric_prob={self.asymmetric_prob})')
