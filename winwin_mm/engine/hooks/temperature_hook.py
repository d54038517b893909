"""Tune the attention temperature at the end of training."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..temperature import (analytic_from_data,
                           build_full_resolution_dataloader, curve_lines,
                           save_report, temperature_modules, tune_temperature,
                           unwrap_model)


@HOOKS.register_module()
class TemperatureTuningHook(Hook):
    """After the last training iteration, tune the softmax temperature on
    full-resolution training images (paper, section 3 and Appendix E/F.1)
    and write it into the model.

    It runs in ``after_train_iter`` of the last iteration, with a priority
    above ``CheckpointHook`` (VERY_LOW): mmengine's train loops call that
    before the last checkpoint is saved and before the final validation, so
    both see the tuned value (the per-head buffers are in the state dict and
    ``tools/test.py`` uses them). This holds for ``IterBasedTrainLoop`` and
    ``EpochBasedTrainLoop`` (whose final checkpoint is saved in
    ``after_train_epoch``). A run stopped early (``stop_training``) is not
    tuned.

    Writes ``{work_dir}/{out_dir}/temperature.json`` and ``.png`` and logs
    the curve, the choice, the forward passes used and the distance of the
    analytic guess ``log(N_test)/log(N_train)`` from the optimum.

    Args:
        mode: ``'search'`` (Brent-like, ~6-9 evaluations), ``'sweep'``
            (the paper's grid) or ``'learned'`` (per-head, frozen weights).
        num_images: full-resolution training images per evaluation.
        grid: ``(lo, hi, step)`` candidate multipliers (paper step: 0.02).
        batch_size: images per forward pass.
        num_workers: loader workers (default: the train dataloader's).
        drop_transforms: transform types removed from the training pipeline
            (default: ``RandomWindows`` and the random augmentations, see
            ``winwin_mm/engine/temperature/data.py``).
        start_from_analytic: start the search at the analytic guess.
        learn_from: learned mode starts from ``'search'`` or ``'current'``.
        learn_iters: learned-mode steps.
        learn_lr: learned-mode Adam learning rate (on log-multipliers).
        out_dir: report folder, relative to the work dir.
        progress: progress bars.
        objective: ``'loss'`` (training loss) or a key of the model's loss
            dict, e.g. ``'decode.epe'`` for flow.
        dataset: the dataset to tune on, as a dataset config (a named split
            of the target benchmark, e.g. Sintel ``subtrain``); its pipeline
            loses the windows and random transforms like the training one,
            so frames go through at full resolution. Default: the training
            set of ``train_dataloader``.

    Example::

        custom_hooks = [dict(
            type='TemperatureTuningHook', objective='decode.epe',
            dataset=dict(type='SintelDataset', data_root='data/Sintel',
                         split='subtrain', pass_style=('clean', 'final'),
                         pipeline=train_pipeline))]
    """

    priority = 'LOW'  # after the logger, before CheckpointHook (VERY_LOW)

    def __init__(self,
                 mode: str = 'search',
                 num_images: int = 700,
                 grid: Sequence[float] = (0.8, 2.0, 0.02),
                 batch_size: int = 1,
                 num_workers: Optional[int] = None,
                 drop_transforms: Optional[Sequence[str]] = None,
                 start_from_analytic: bool = True,
                 learn_from: str = 'search',
                 learn_iters: int = 300,
                 learn_lr: float = 0.01,
                 out_dir: str = 'temperature',
                 progress: bool = True,
                 objective: str = 'loss',
                 dataset: Optional[dict] = None) -> None:
        if len(grid) != 3:
            raise ValueError(f'grid must be (lo, hi, step), got {grid}')
        self.mode = mode
        self.num_images = num_images
        self.grid = tuple(float(v) for v in grid)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.drop_transforms = drop_transforms
        self.start_from_analytic = start_from_analytic
        self.learn_from = learn_from
        self.learn_iters = learn_iters
        self.learn_lr = learn_lr
        self.out_dir = out_dir
        self.progress = progress
        self.objective = objective
        self.dataset = dataset
        self.tuned = False

    def before_train(self, runner) -> None:
        # Fail before training, not after it, when there is nothing to tune
        # (e.g. an Iwin backbone): NoTemperatureError says what to change.
        temperature_modules(unwrap_model(runner.model))

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.is_last_train_iter(runner) and not self.tuned:
            self.tune(runner, data_batch)

    def after_train(self, runner) -> None:
        if not self.tuned:
            print_log('TemperatureTuningHook: training ended before its last '
                      'iteration; the temperature was not tuned (use '
                      'tools/tune_temperature.py on the checkpoint)',
                      logger='current', level=30)

    def tuning_dataloader(self, train_dataloader: Optional[dict]):
        """The full-resolution frames to tune on: ``dataset`` when given,
        else the training set, with the loader options of
        ``train_dataloader``."""
        if self.dataset is not None:
            train_dataloader = dict(train_dataloader or {},
                                    dataset=self.dataset)
        return build_full_resolution_dataloader(
            train_dataloader, self.num_images, self.batch_size,
            self.num_workers, self.drop_transforms)

    def tune(self, runner, data_batch: Optional[dict] = None) -> dict:
        """Tune on ``runner.model`` and save the report; returns it."""
        model = unwrap_model(runner.model)
        loader = self.tuning_dataloader(runner.cfg.get('train_dataloader'))
        shape = loader.dataset[0]['inputs'].shape  # C, H, W (first image)
        analytic = analytic_from_data(
            (data_batch or {}).get('data_samples', []), shape,
            getattr(getattr(model, 'backbone', None), 'patch_size', None))
        runner.logger.info(
            f'TemperatureTuningHook: tuning the attention temperature '
            f'({self.mode}) on {len(loader.dataset)} full-resolution '
            f'{"training" if self.dataset is None else "tuning-set"} '
            f'images (the first: {shape[-2]}x{shape[-1]} pixels)')
        report = tune_temperature(
            model, loader, self.mode, self.grid, analytic,
            self.start_from_analytic, self.learn_from, self.learn_iters,
            self.learn_lr, self.progress, self.objective)
        report['iteration'] = runner.iter + 1
        for line in curve_lines(report):
            runner.logger.info(line)
        if is_main_process():
            paths = save_report(report,
                                osp.join(runner.work_dir, self.out_dir))
            runner.logger.info('temperature report: ' + ', '.join(paths))
        self.tuned = True
        return report
