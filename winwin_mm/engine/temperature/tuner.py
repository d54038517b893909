"""One entry point for the hook and the tool: tune, write, report."""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log
from torch.utils.data import DataLoader

from .learned import learn_temperatures
from .measure import (FullResolutionLoss, get_temperature, set_temperature,
                      temperature_as_list, unwrap_model)
from .search import CachedFunction, brent_search, grid_sweep, grid_values

MODES = ('sweep', 'search', 'learned')


def tune_temperature(model: nn.Module,
                     dataloader: DataLoader,
                     mode: str = 'search',
                     grid: Sequence[float] = (0.8, 2.0, 0.02),
                     analytic: Optional[float] = None,
                     start_from_analytic: bool = True,
                     learn_from: str = 'search',
                     learn_iters: int = 300,
                     learn_lr: float = 0.01,
                     progress: bool = True,
                     objective: str = 'loss') -> dict:
    """Tune the model's attention temperature on full-resolution training
    images and leave the best value set in the model.

    Modes (cost in image forward passes, N = images per evaluation):

    - ``'sweep'``: every grid value, the paper's protocol (N x grid size);
    - ``'search'``: Brent-like search on the same grid (about 6-9 x N),
      same result for a unimodal curve;
    - ``'learned'``: one multiplier per head and layer learned with frozen
      weights (``learn_iters`` forward+backward passes), starting from the
      search's optimum (``learn_from='search'``) or from the model's current
      values (``'current'``); kept only if it lowers the measured loss.

    Args:
        model: the (possibly wrapped) model with ``set_temperature``.
        dataloader: full-resolution training images.
        mode: ``'sweep'``, ``'search'`` or ``'learned'``.
        grid: ``(lo, hi, step)`` of the candidate multipliers.
        analytic: the analytic multiplier (see ``analytic.py``), reported
            and used as the search's first guess.
        start_from_analytic: start the search at ``analytic``.
        learn_from: ``'search'`` or ``'current'`` (learned mode).
        learn_iters: steps of the learned mode.
        learn_lr: Adam learning rate on the log-multipliers.
        progress: progress bars.
        objective: what the search/sweep minimises: ``'loss'`` (the
            training loss, the paper's choice) or a key of the model's loss
            dict such as ``'decode.epe'`` (flow). The learned mode always
            descends the training loss (it needs a gradient).

    Returns:
        A JSON-ready report (see ``docs/temperature.md``).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if learn_from not in ('search', 'current'):
        raise ValueError(f"learn_from must be 'search' or 'current', got "
                         f'{learn_from!r}')
    model = unwrap_model(model)
    before = get_temperature(model)
    loss_fn = FullResolutionLoss(model, dataloader, progress, objective)
    f = CachedFunction(loss_fn)
    values = grid_values(*grid)
    report = dict(mode=mode, objective=objective, grid=list(grid),
                  grid_size=len(values),
                  num_images=loss_fn.num_images(),
                  temperature_before=temperature_as_list(before), analytic=analytic)

    best, best_loss = None, None
    if mode == 'sweep':
        best, best_loss = grid_sweep(f, values)
    elif mode == 'search' or learn_from == 'search':
        start = analytic if start_from_analytic else None
        best, best_loss = brent_search(f, values, start)
    if best is not None:
        set_temperature(model, best)
        print_log(f'temperature: best multiplier {best:.4g} (loss '
                  f'{best_loss:.6f}) after {f.num_evaluations} evaluations',
                  logger='current')
    report.update(curve=[list(p) for p in f.curve()], best=best,
                  best_loss=best_loss, evaluations=f.num_evaluations)

    if mode == 'learned':
        report['learned'] = _learn(model, loss_fn, dataloader, best,
                                   best_loss, learn_iters, learn_lr, progress)
    report['forward_passes'] = loss_fn.forward_passes
    report['grid_forward_passes'] = len(values) * loss_fn.num_images()
    report['temperature'] = temperature_as_list(get_temperature(model))
    if analytic is not None and best is not None:
        report['analytic_distance'] = abs(analytic - best)
    return report


def _learn(model: nn.Module, loss_fn: FullResolutionLoss,
           dataloader: DataLoader, best: Optional[float],
           best_loss: Optional[float], iters: int, lr: float,
           progress: bool) -> dict:
    """Learned mode after the (optional) search; keeps the better result."""
    start = get_temperature(model)
    if best_loss is None:  # learn_from='current': measure the start once
        best_loss = loss_fn(start)
    out = learn_temperatures(model, dataloader, iters, lr, start, progress)
    loss = loss_fn(out['temperature'])
    kept = loss < best_loss
    if not kept:  # learning overfit or diverged: back to the start values
        set_temperature(model, start)
    print_log(f'learned temperatures: loss {loss:.6f} vs {best_loss:.6f} at '
              f'the start -> {"kept" if kept else "discarded"}',
              logger='current')
    return dict(start_loss=best_loss, loss=loss, kept=bool(kept),
                iters=iters, lr=lr, losses=out['losses'],
                temperature=temperature_as_list(out['temperature']),
                forward_backward_passes=out['forward_backward_passes'])
