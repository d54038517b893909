"""Attention temperature tuning after Win-Win training (paper, section 3
"Feature distribution changes", Appendix E, F.1): measure the training loss
on full-resolution training images for candidate multipliers, keep the best.
"""
from .analytic import (analytic_from_data, analytic_temperature, image_tokens,
                       mean_train_tokens, window_tokens)
from .data import (NoTrainingSetError, build_full_resolution_dataloader,
                   build_full_resolution_dataset, full_resolution_pipeline,
                   training_data_samples)
from .learned import learn_temperatures, temperature_buffer_names
from .measure import (FullResolutionLoss, get_temperature, set_temperature,
                      temperature_as_list, temperature_modules, unwrap_model)
from .report import curve_lines, plot_report, save_report
from .search import CachedFunction, brent_search, grid_sweep, grid_values
from .tuner import MODES, tune_temperature
from .tuning_set import tuning_dataset, tuning_hook

__all__ = [
    'analytic_from_data', 'analytic_temperature', 'image_tokens',
    'mean_train_tokens', 'window_tokens', 'NoTrainingSetError',
    'build_full_resolution_dataloader', 'build_full_resolution_dataset',
    'full_resolution_pipeline', 'training_data_samples',
    'learn_temperatures', 'temperature_buffer_names', 'FullResolutionLoss',
    'get_temperature', 'set_temperature', 'temperature_as_list',
    'temperature_modules', 'unwrap_model', 'curve_lines',
    'plot_report', 'save_report', 'CachedFunction', 'brent_search',
    'grid_sweep', 'grid_values', 'MODES', 'tune_temperature',
    'tuning_dataset', 'tuning_hook'
]
