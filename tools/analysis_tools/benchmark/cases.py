"""The cases the benchmark measures side by side (paper Fig. 1, Table 2).

Training (BDD config's model, ViT-B/16 RoPE + ConvNeXt head, 1280x720):
full resolution, Win-Win 2x22^2 windows, 1/3/4 windows at a similar token
budget (paper Table 1), ViTDet-style attention at full resolution, and crop
training at 512x512; each at batch 1 and at ``--batch``. Inference:
segmentation at 1280x720, one whole-image pass vs mmseg's slide (the BDD
config's commented tiling); optical flow at 1920x1080, one pass vs
CroCo-Flow's tiling at overlap 0.7 and 0.9.

``--quick`` shrinks every size (image, windows, tiles) so that the whole
table runs in seconds with a tiny model; the structure is the same.
"""
import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from winwin_mm.models.segmentors.flow_tiling import tile_boxes

Size = Tuple[int, int]  # (height, width) in pixels


@dataclass
class Case:
    """One measured setting.

    Attributes:
        name: unique key, ``'<base>@b<batch>'`` for training.
        base: the setting without the batch (``--cases`` selects these).
        group: ``'train'``, ``'seg_infer'`` or ``'flow_infer'``.
        label: human-readable description.
        image: ``(H, W)`` input size in pixels.
        batch: images (pairs) per step.
        windows: Win-Win windows ``(h, w)`` in tokens, or None for whole
            images (full resolution, crop, ViTDet, inference).
        vitdet: ViTDet-style window attention in the backbone.
        mode: inference mode: ``'whole'``, ``'slide'`` or ``'tile'``.
        crop: slide / tile size ``(h, w)`` in pixels.
        stride: slide stride ``(h, w)``.
        overlap: tile overlap (flow).
        reference: the case its ratios are taken against.
    """
    name: str
    base: str
    group: str
    label: str
    image: Size
    batch: int = 1
    windows: Optional[List[Size]] = None
    vitdet: bool = False
    mode: str = 'whole'
    crop: Optional[Size] = None
    stride: Optional[Size] = None
    overlap: Optional[float] = None
    reference: str = ''
    extra: Dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# Sizes per scale. Full: the paper's; quick: the same structure, tiny.
SCALES = {
    'full': dict(
        seg=(720, 1280), crop=(512, 512), patch=16, vitdet_window=14,
        windows={'winwin_2x22': [(22, 22)] * 2, 'win_1x32': [(32, 32)],
                 'win_3x18': [(18, 18)] * 3, 'win_4x16': [(16, 16)] * 4},
        slide=((352, 352), (176, 176)),
        flow=(1080, 1920), flow_tile=(320, 384)),
    'quick': dict(
        seg=(144, 256), crop=(96, 96), patch=16, vitdet_window=4,
        windows={'winwin_2x22': [(4, 4)] * 2, 'win_1x32': [(6, 6)],
                 'win_3x18': [(3, 3)] * 3, 'win_4x16': [(3, 3)] * 4},
        slide=((64, 64), (32, 32)),
        flow=(96, 128), flow_tile=(64, 64)),
}

TRAIN_BASES = ('full', 'winwin_2x22', 'win_1x32', 'win_3x18', 'win_4x16',
               'vitdet', 'crop512')
INFER_BASES = ('seg_whole', 'seg_slide', 'flow_whole', 'flow_tile0.7',
               'flow_tile0.9')
ALL_BASES = TRAIN_BASES + INFER_BASES


def _label_windows(wins: Sequence[Size]) -> str:
    h, w = wins[0]
    return f'{len(wins)} window{"s" * (len(wins) > 1)} of {h}x{w} tokens'


def train_cases(scale: dict, batch: int) -> List[Case]:
    """The training cases at one batch size (reference: full)."""
    H, W = scale['seg']
    ref = f'full@b{batch}'
    cases = [Case(ref, 'full', 'train', f'full resolution {W}x{H}',
                  (H, W), batch, reference=ref)]
    for base, wins in scale['windows'].items():
        kind = 'Win-Win' if base == 'winwin_2x22' else 'windows'
        cases.append(Case(f'{base}@b{batch}', base, 'train',
                          f'{kind}: {_label_windows(wins)}', (H, W), batch,
                          windows=list(wins), reference=ref))
    cases.append(Case(f'vitdet@b{batch}', 'vitdet', 'train',
                      f'ViTDet attention (window {scale["vitdet_window"]}, '
                      f'4 global blocks) at {W}x{H}', (H, W), batch,
                      vitdet=True, reference=ref))
    ch, cw = scale['crop']
    cases.append(Case(f'crop512@b{batch}', 'crop512', 'train',
                      f'crop training {cw}x{ch}', (ch, cw), batch,
                      reference=ref))
    return cases


def slide_passes(image: Size, crop: Size, stride: Size) -> int:
    """Forward passes of mmseg's slide inference (its grid rule)."""
    return math.prod(max(s - c + st - 1, 0) // st + 1
                     for s, c, st in zip(image, crop, stride))


def infer_cases(scale: dict) -> List[Case]:
    """Whole-image vs tiling inference (reference: the one-pass case)."""
    H, W = scale['seg']
    crop, stride = scale['slide']
    cases = [
        Case('seg_whole', 'seg_whole', 'seg_infer',
             f'segmentation {W}x{H}: one pass', (H, W), reference='seg_whole',
             extra=dict(passes=1)),
        Case('seg_slide', 'seg_slide', 'seg_infer',
             f'segmentation {W}x{H}: mmseg slide {crop[1]}x{crop[0]}, '
             f'stride {stride[1]}', (H, W), mode='slide', crop=crop,
             stride=stride, reference='seg_whole',
             extra=dict(passes=slide_passes((H, W), crop, stride)))]
    FH, FW = scale['flow']
    tile = scale['flow_tile']
    cases.append(Case('flow_whole', 'flow_whole', 'flow_infer',
                      f'flow {FW}x{FH}: one pass', (FH, FW),
                      reference='flow_whole', extra=dict(passes=1)))
    for overlap in (0.7, 0.9):
        n = len(tile_boxes(FH, FW, tile, overlap))
        cases.append(Case(
            f'flow_tile{overlap}', f'flow_tile{overlap}', 'flow_infer',
            f'flow {FW}x{FH}: CroCo tiling {tile[1]}x{tile[0]}, overlap '
            f'{overlap}', (FH, FW), mode='tile', crop=tile, overlap=overlap,
            reference='flow_whole', extra=dict(passes=n)))
    return cases


def build_cases(quick: bool = False, batch: int = 2,
                bases: Optional[Sequence[str]] = None) -> List[Case]:
    """Every case to run, references included.

    Args:
        quick: tiny sizes (tests).
        batch: the second training batch size (batch 1 always runs).
        bases: settings to keep (see ``ALL_BASES``); their references are
            kept too, so that every ratio can be computed.
    """
    scale = SCALES['quick' if quick else 'full']
    cases = train_cases(scale, 1)
    if batch != 1:
        cases += train_cases(scale, batch)
    cases += infer_cases(scale)
    if bases:
        unknown = set(bases) - set(ALL_BASES)
        if unknown:
            raise ValueError(f'unknown cases {sorted(unknown)}; choose from '
                             f'{list(ALL_BASES)}')
        keep = {c.name for c in cases if c.base in bases}
        keep |= {c.reference for c in cases if c.name in keep}
        cases = [c for c in cases if c.name in keep]
    return cases


def window_boxes(windows: Sequence[Size], image: Size, patch: int
                 ) -> List[List[int]]:
    """Pixel boxes ``(x1, y1, x2, y2)`` of windows laid out side by side
    along the top of the image (positions do not change the cost)."""
    gw = image[1] // patch
    total = sum(w for _, w in windows)
    gap = (gw - total) // len(windows)
    if gap < 0 or any(h > image[0] // patch for h, _ in windows):
        raise ValueError(f'windows {windows} do not fit side by side in '
                         f'{image}')
    boxes, x = [], 0
    for h, w in windows:
        boxes.append([x * patch, 0, (x + w) * patch, h * patch])
        x += w + gap
    return boxes
