"""Settings and studies of ``tools/ablation.py`` (paper Tables 1, 2, 7, 9
and the positional-embedding comparison of section 4.1).

A setting is one trained model: a config of ``configs/ablations/`` (its
name without the common suffix), the paper's row label, its training tokens
per image, and the test configs of its extra evaluations. A study lists
settings with the evaluations to report; settings shared by studies are
trained once (same run folder).

Evaluations (``EVALS``):
- ``whole``: the whole image in one forward pass, temperature 1 (the
  final validation of ``tools/train.py``: the configs validate and test on
  the same 40 images with the same pipeline and metric);
- ``tuned``: the same after ``tools/tune_temperature.py`` (search on 20
  whole training images), evaluated with ``tools/test.py``;
- ``resize`` / ``slide``: ``tools/test.py`` with the setting's test config
  (resize to the crop and back; tiling with 50 % overlap).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from .. import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'ablations')
DEFAULT_ITERS = 200  # the configs' schedule
SUFFIX = f'_vit-tiny_1xb8-{DEFAULT_ITERS}_scenes-320x176.py'
EVALS = {'whole': 'whole image, T = 1', 'tuned': 'whole image, tuned T',
         'resize': 'resize to crop and back', 'slide': 'slide, 50 % overlap'}


@dataclass(frozen=True)
class Setting:
    """One trained setting.

    Args:
        config: config name in ``configs/ablations/`` without ``SUFFIX``.
        label: the row label (the paper's wording).
        tokens: training tokens per image (windows / crop / image).
        extra_tokens: isolated extra tokens per image (attention only).
        test_configs: evaluation -> config name of its ``tools/test.py``
            run (``resize``, ``slide``).
    """
    config: str
    label: str
    tokens: int
    extra_tokens: int = 0
    test_configs: Dict[str, str] = field(default_factory=dict)

    def path(self, name: str = '') -> str:
        """The config file of the setting (or of one of its tests)."""
        return osp.join(CONFIG_DIR, (name or self.config) + SUFFIX)


def _s(config, label, tokens, extra=0, **tests) -> Tuple[str, Setting]:
    return config, Setting(config, label, tokens, extra, dict(tests))


SETTINGS: Dict[str, Setting] = dict([
    _s('winwin-1win7', '1 win. 7x7', 49),
    _s('winwin-2win5', '2 win. 5x5 (Win-Win)', 50),
    _s('winwin-3win4', '3 win. 4x4', 48),
    _s('winwin-4win3x4', '4 win. 3x4', 48),
    _s('winwin-6win3', '6 win. 3x3', 54),
    _s('fullres', 'Full-res. ViT', 220),
    _s('fullres-vitdet', 'Full-res. ViT-Det (4x4 win., 2 global)', 220),
    _s('randtokens-50-linear', 'Random tokens (linear head)', 50),
    _s('crop7', 'crop 7x7', 49, resize='crop7-test-resize',
       slide='crop7-test-slide'),
    _s('crop6', 'crop 6x6', 36, slide='crop6-test-slide'),
    _s('winwin-2win4', '2 win. 4x4', 32),
    _s('crop4', 'crop 4x4', 16, slide='crop4-test-slide'),
    _s('winwin-2win3', '2 win. 3x3', 18),
    _s('winwin-2win-tok50-ratio-aspect',
       '50 tok., 2 win., ratio [0,2], aspect [1/2,2]', 50),
    _s('winwin-234win-tok50-ratio-aspect',
       '50 tok., {2,3,4} win., ratio [0,2], aspect [1/2,2]', 50),
    _s('winwin-2win-tok38-62', '[38,62] tok., 2 win., equal, square', 50),
    _s('winwin-234win-tok38-62-ratio-aspect',
       '[38,62] tok., {2,3,4} win., ratio [0,2], aspect [1/2,2]', 50),
    _s('winwin-1win7-extra5', '1 win. 7x7 + 5 extra tokens', 49, 5),
    _s('winwin-2win5-extra2', '2 win. 5x5 + 2 extra tokens', 50, 2),
    _s('winwin-2win5-extra5', '2 win. 5x5 + 5 extra tokens', 50, 5),
    _s('winwin-2win5-cosine', 'Win-Win, cosine abs. pos. emb.', 50),
    _s('winwin-2win5-linear', 'Win-Win (2 win. 5x5), linear head', 50),
    _s('fullres-linear', 'Full-res. ViT, linear head', 220),
])

# study -> [(setting, evaluations)], in table order.
STUDIES: Dict[str, List[Tuple[str, Tuple[str, ...]]]] = {
    # Table 1 left: number of windows at ~50 tokens, w/o and w/ temperature.
    'windows': [(n, ('whole', 'tuned')) for n in (
        'winwin-1win7', 'winwin-2win5', 'winwin-3win4', 'winwin-4win3x4',
        'winwin-6win3')],
    # Table 2 left (and Fig. 1 left).
    'baselines': [('fullres', ('whole', )), ('fullres-vitdet', ('whole', )),
                  ('randtokens-50-linear', ('whole', )),
                  ('crop7', ('whole', 'resize', 'slide')),
                  ('winwin-2win5', ('whole', 'tuned'))],
    # Table 2 right: fewer training tokens, 1 crop + tiling vs 2 windows.
    'tokens': [('crop7', ('slide', )), ('winwin-2win5', ('whole', )),
               ('crop6', ('slide', )), ('winwin-2win4', ('whole', )),
               ('crop4', ('slide', )), ('winwin-2win3', ('whole', ))],
    # Table 7: randomised windows (left), extra isolated tokens (right).
    'table7': [(n, ('whole', )) for n in (
        'winwin-2win5', 'winwin-2win-tok50-ratio-aspect',
        'winwin-234win-tok50-ratio-aspect', 'winwin-2win-tok38-62',
        'winwin-234win-tok38-62-ratio-aspect', 'winwin-1win7',
        'winwin-1win7-extra5', 'winwin-2win5-extra2',
        'winwin-2win5-extra5')],
    # Section 4.1: RoPE vs cosine absolute embeddings, w/o and w/ the
    # temperature correction.
    'posembed': [('winwin-2win5', ('whole', 'tuned')),
                 ('winwin-2win5-cosine', ('whole', 'tuned'))],
    # Table 9 (right column): linear head.
    'linearhead': [('fullres-linear', ('whole', )),
                   ('randtokens-50-linear', ('whole', )),
                   ('winwin-2win5-linear', ('whole', 'tuned'))],
}


def study_plan(study: str) -> List[Tuple[str, Tuple[str, ...]]]:
    """``[(setting, evaluations)]`` of a study; ``'all'`` merges the four
    (each setting once, the union of its evaluations, first-seen order)."""
    if study != 'all':
        if study not in STUDIES:
            raise KeyError(f'unknown study {study!r}; choose one of '
                           f'{sorted(STUDIES)} or all')
        return list(STUDIES[study])
    plan: Dict[str, List[str]] = {}
    for entries in STUDIES.values():
        for name, evals in entries:
            plan.setdefault(name, [])
            plan[name] += [e for e in evals if e not in plan[name]]
    return [(name, tuple(evals)) for name, evals in plan.items()]
