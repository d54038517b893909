"""Test-resolution study (paper Figure 5): evaluate checkpoints on crops of
several sizes (the centre crop, or the grid of crops tiling each image)
through the normal mmseg test loop, write JSON and draw the figure. Entry
point: ``tools/test_resolution.py``."""
from .crop import TestBoxCrop, TestCenterCrop, crop_results
from .grid import GridCropDataset, grid_boxes, grid_offsets
from .plot import plot_study
from .study import (CROPS, ModelSpec, crop_dataset, evaluate_sizes,
                    parse_size, run_study)

__all__ = ['TestBoxCrop', 'TestCenterCrop', 'crop_results',
           'GridCropDataset', 'grid_boxes', 'grid_offsets', 'CROPS',
           'ModelSpec', 'crop_dataset', 'evaluate_sizes', 'parse_size',
           'run_study', 'plot_study']
