"""winwin_mm: Win-Win high-resolution ViT training for OpenMMLab.

``import winwin_mm`` (or ``custom_imports=dict(imports=['winwin_mm'])`` in a
config) registers every component in mmsegmentation's registries: models,
transforms, datasets, metrics and hooks. Registration is the only thing the
import does.
"""
from . import apis, datasets, engine, models, structures  # noqa: F401
from . import evaluation, visualization  # noqa: F401

__version__ = '0.1.0'
