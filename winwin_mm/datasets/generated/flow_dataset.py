"""A generated optical flow dataset in the MPI-Sintel layout, for the demo
and the tests.

Scenes of textured layers with known affine motion
(:mod:`.flow_scenes`) are written once as::

    {root}/training/clean/SCENE/frame_XXXX.png     # frames 1..F
    {root}/training/final/SCENE/frame_XXXX.png     # blurred, graded, noisy
    {root}/training/flow/SCENE/frame_XXXX.flo      # frame XXXX -> XXXX + 1

so :class:`SintelDataset` reads them: the validation scenes are named
``temple_2`` and ``temple_3`` (``split='subval'``), the training scenes
``scene_000``, ``scene_001``... (``split='subtrain'``). Writing is atomic
(everything goes to a temporary folder next to ``training/``, which is then
renamed into place, so an existing ``training/`` is a complete dataset), and
deterministic: scene ``NAME`` is drawn from a generator seeded by
``(seed, NAME)``, whatever the number of scenes. ``training/generator.json``
records what the scenes depend on (:data:`GENERATOR_VERSION`, frames per
scene, size, seed), so a folder written by another version or with other
settings is reported instead of silently measured on.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
import time
import zlib
from typing import Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.logging import print_log

from mmseg.registry import DATASETS
from ..flow.base import StrOrSeq
from ..flow.io import write_flow
from ..flow.sintel import SintelDataset
from .atomic_split import _rename_dir
from .flow_scenes import final_pass, render_sequence

VAL_SCENES = ('temple_2', 'temple_3')  # Sintel's subval (CroCo-Flow)
# Bump whenever a change to the renderer (generated/flow_scenes.py)
# or to write_scene alters what a seed produces. 1: folders without
# generator.json (before 2026-12-02; the textures changed on 2026-11-29).
# 3: textures detailed at token scale, no stripes, larger motions (median
# about 16 px instead of 4; 2026-12-02).
GENERATOR_VERSION = 3
STAMP = 'generator.json'


def generator_stamp(frames_per_scene: int, size: Tuple[int, int],
                    seed: int) -> dict:
    """What every generated scene depends on (not the number of scenes: a
    scene is the same whatever the others)."""
    return dict(generator_version=GENERATOR_VERSION,
                frames_per_scene=int(frames_per_scene),
                img_size=[int(v) for v in size], seed=int(seed))


def check_generated(root: str, frames_per_scene: int, size: Tuple[int, int],
                    seed: int) -> Optional[str]:
    """None when ``{root}/training`` was written by this generator with
    these settings, else what differs and how to regenerate."""
    path = osp.join(root, 'training', STAMP)
    fix = (f'delete {osp.join(root, "training")} to regenerate, or set '
           'another data_root')
    if not osp.isfile(path):
        return (f'{path} is missing: the scenes were written by an older '
                f'generator (before version {GENERATOR_VERSION}) and may '
                f'differ from what this one writes; {fix}')
    with open(path) as f:
        found = json.load(f)
    wanted = generator_stamp(frames_per_scene, size, seed)
    diff = [f'{k} {found.get(k)!r} (wanted {v!r})'
            for k, v in wanted.items() if found.get(k) != v]
    if diff:
        return (f'{osp.join(root, "training")} was generated with '
                f'{", ".join(diff)}; {fix}')
    return None


def scene_names(num_train_scenes: int, num_val_scenes: int) -> list:
    """Training scenes ``scene_000``... then up to 2 validation scenes."""
    if not 0 <= num_val_scenes <= len(VAL_SCENES):
        raise ValueError(f'num_val_scenes={num_val_scenes}: Sintel\'s subval '
                         f'has {len(VAL_SCENES)} scenes {VAL_SCENES}; add '
                         'frames_per_scene for more validation pairs')
    return ([f'scene_{i:03d}' for i in range(num_train_scenes)] +
            list(VAL_SCENES[:num_val_scenes]))


def write_scene(out: str, scene: str, frames_per_scene: int,
                size: Tuple[int, int], seed: int) -> None:
    """Render scene ``scene`` and write its clean / final frames and flows
    under ``{out}/{clean,final,flow}/{scene}``."""
    height, width = size
    rng = np.random.default_rng([seed, zlib.crc32(scene.encode())])
    frames, flows, _ = render_sequence(rng, frames_per_scene, height, width)
    # One grade and blur per scene, noise per frame (as a camera would).
    blur, noise = rng.uniform(0.6, 1.3), rng.uniform(1.5, 4.0)
    gain = rng.uniform(0.85, 1.1, 3).astype(np.float32)
    for t, frame in enumerate(frames):
        name = f'frame_{t + 1:04d}'
        mmcv.imwrite(frame, osp.join(out, 'clean', scene, name + '.png'))
        mmcv.imwrite(final_pass(rng, frame, blur, noise, gain),
                     osp.join(out, 'final', scene, name + '.png'))
        if t < len(flows):
            write_flow(osp.join(out, 'flow', scene, name + '.flo'), flows[t])


def generate_sintel_layout(root: str,
                           num_train_scenes: int = 8,
                           num_val_scenes: int = 2,
                           frames_per_scene: int = 10,
                           size: Tuple[int, int] = (384, 512),
                           seed: int = 0) -> bool:
    """Write generated scenes in the Sintel layout unless
    ``{root}/training`` exists.

    A 384x512 scene of 10 frames takes about a second (half of it
    rendering, half PNG encoding) and 22 MB.

    Args:
        root: Dataset root (``data_root`` of ``SintelDataset``).
        num_train_scenes: Scenes ``scene_000``... (``subtrain``).
        num_val_scenes: 0 to 2 scenes ``temple_2``, ``temple_3``
            (``subval``).
        frames_per_scene: Frames per scene (pairs: one fewer).
        size: ``(height, width)`` of the frames.
        seed: Base seed.

    Returns:
        True when files were generated, False when they existed.
    """
    target = osp.join(root, 'training')
    if osp.isdir(target):
        return False
    if frames_per_scene < 2:
        raise ValueError(f'frames_per_scene={frames_per_scene}: a pair '
                         'needs 2 frames')
    scenes = scene_names(num_train_scenes, num_val_scenes)
    os.makedirs(root, exist_ok=True)
    print_log(f'generating {len(scenes)} synthetic flow scenes of '
              f'{frames_per_scene} frames ({size[0]}x{size[1]}) into '
              f'{target}', logger='current')
    start = time.time()
    tmp = tempfile.mkdtemp(prefix='.tmp-synthetic-flow-', dir=root)
    try:
        for scene in scenes:
            write_scene(osp.join(tmp, 'training'), scene, frames_per_scene,
                        tuple(size), seed)
        with open(osp.join(tmp, 'training', STAMP), 'w') as f:
            json.dump(generator_stamp(frames_per_scene, size, seed), f)
        _rename_dir(osp.join(tmp, 'training'), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_log(f'generated {len(scenes)} scenes in {time.time() - start:.1f}'
              ' s', logger='current')
    return True


@DATASETS.register_module()
class SyntheticFlowDataset(SintelDataset):
    """Generated layered scenes in the Sintel layout, written on first use.

    Generates with :func:`generate_sintel_layout` when
    ``{data_root}/training`` is missing, then reads exactly as
    :class:`SintelDataset` (``subtrain``: the generated training scenes,
    ``subval``: ``temple_2`` and ``temple_3``).

    Example::

        train_dataloader = dict(dataset=dict(
            type='SyntheticFlowDataset', data_root='data/synthetic_flow',
            split='subtrain', num_train_scenes=8, img_size=(384, 512),
            pipeline=train_pipeline))

    Args:
        data_root: Where the dataset lives (created if missing).
        split: A ``SintelDataset`` split (``'subtrain'``, ``'subval'``,
            ``'train'``).
        pass_style: ``'clean'``, ``'final'`` or both.
        num_train_scenes: Generated training scenes.
        num_val_scenes: Generated validation scenes (0 to 2).
        frames_per_scene: Frames per scene.
        img_size: ``(height, width)`` of the generated frames.
        seed: Base seed of the generation.
        **kwargs: Other ``SintelDataset`` arguments.
    """

    def __init__(self,
                 data_root: str = 'data/synthetic_flow',
                 split: str = 'subtrain',
                 pass_style: StrOrSeq = 'clean',
                 num_train_scenes: int = 8,
                 num_val_scenes: int = 2,
                 frames_per_scene: int = 10,
                 img_size: Tuple[int, int] = (384, 512),
                 seed: int = 0,
                 val_scenes: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if split == 'test':
            raise ValueError('SyntheticFlowDataset has no test split; use '
                             "'subval' for evaluation")
        if not generate_sintel_layout(data_root, num_train_scenes,
                                      num_val_scenes, frames_per_scene,
                                      tuple(img_size), seed):
            wanted = scene_names(num_train_scenes, num_val_scenes)
            found = sorted(os.listdir(osp.join(data_root, 'training',
                                               'flow')))
            if found != sorted(wanted):
                print_log(f'{data_root}/training holds scenes {found}, not '
                          f'{sorted(wanted)}; using them as they are (delete'
                          ' the folder to regenerate)', logger='current',
                          level=30)
            stale = check_generated(data_root, frames_per_scene,
                                    tuple(img_size), seed)
            if stale:  # still usable flow data: warn, do not delete
                print_log(f'SyntheticFlowDataset: {stale}; using it as it '
                          'is', logger='current', level=30)
        super().__init__(data_root=data_root, split=split,
                         pass_style=pass_style,
                         val_scenes=val_scenes or VAL_SCENES, **kwargs)
