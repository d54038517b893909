"""Test-resolution study (paper Figure 5): evaluate checkpoints on centre
crops of several sizes through the normal mmseg test loop, write JSON and
draw the figure. Entry point: ``tools/test_resolution.py``."""
from .crop import TestCenterCrop
from .plot import plot_study
from .study import ModelSpec, evaluate_sizes, parse_size, run_study

__all__ = ['TestCenterCrop', 'ModelSpec', 'evaluate_sizes', 'parse_size',
           'run_study', 'plot_study']
