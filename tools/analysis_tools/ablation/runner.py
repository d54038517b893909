"""Train and evaluate one setting and seed through the repository's tools.

Every step is a subprocess of ``tools/train.py``, ``tools/tune_temperature.py``
or ``tools/test.py`` (the commands a user would type), logged to a file in
the run folder ``{work_dir}/{setting}_it{iters}_seed{seed}/``. What is done is
recorded in ``result.json`` there after each step, so an interrupted study
resumes where it stopped: a finished training or evaluation is never run
again.
"""
import json
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from .. import REPO_ROOT
from .settings import DEFAULT_ITERS, SETTINGS, Setting

RESULT = 'result.json'


class ToolError(RuntimeError):
    """A tool exited with an error; the message ends with its log tail."""


def run_tool(args: List[str], log: str) -> str:
    """Run ``python ARGS`` from the repository root; return its output.

    Raises:
        ToolError: non-zero exit, with the last lines of ``log``.
    """
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT,
                              stdout=f, stderr=subprocess.STDOUT, text=True)
    with open(log) as f:
        out = f.read()
    if proc.returncode:
        raise ToolError(f'{" ".join(args[:2])} failed (exit '
                        f'{proc.returncode}), see {log}:\n{out[-3000:]}')
    return out


def read_metrics(log_text: str, loop: str) -> Dict[str, float]:
    """aAcc / mIoU / mAcc of the last ``Iter(val)`` or ``Iter(test)``
    summary line of an mmengine log."""
    lines = re.findall(rf'Iter\({loop}\) \[\d+/\d+\]\s+aAcc:.*', log_text)
    if not lines:
        raise ToolError(f'no {loop} metrics (aAcc, mIoU) in the log')
    return {k: float(v) for k, v in
            re.findall(r'(aAcc|mIoU|mAcc): ([0-9.]+)', lines[-1])}


def slide_passes(config: str, options: Sequence[str] = ()) -> int:
    """Forward passes per image of mmseg's slide inference for the
    config's ``test_cfg`` and test image size (1 for whole-image tests)."""
    import argparse
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(config)
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(
            ['--cfg-options', *options]).cfg_options)
    test_cfg = cfg.model.get('test_cfg', {})
    if test_cfg.get('mode', 'whole') != 'slide':
        return 1
    h, w = cfg.test_dataloader.dataset.img_size  # (H, W)
    (hc, wc), (hs, ws) = test_cfg.crop_size, test_cfg.stride
    rows = max(h - hc + hs - 1, 0) // hs + 1
    cols = max(w - wc + ws - 1, 0) // ws + 1
    return rows * cols


def schedule_options(iters: int) -> List[str]:
    """Shorten or lengthen the configs' schedule: warm-up on the first
    10 %, cosine to the end, one validation and checkpoint at the end."""
    warm = max(1, iters // 10)
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
            f'param_scheduler.1.end={iters}']


def _save(path: str, result: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, path)


def run_setting(name: str, seed: int, evals: Sequence[str], work_dir: str,
                iters: Optional[int] = None, num_tune_images: int = 20,
                options: Sequence[str] = (),
                log=print) -> dict:
    """Train setting ``name`` with ``seed`` (unless done) and run the
    evaluations ``evals`` not done yet.

    Args:
        name: a key of ``SETTINGS``.
        seed: ``randomness.seed`` of the training.
        evals: evaluations to have (see ``settings.EVALS``).
        work_dir: the study folder; the run folder is inside.
        iters: training iterations (None: the configs' DEFAULT_ITERS).
        num_tune_images: whole training images of the temperature search.
        options: ``--cfg-options`` given to every tool (e.g. a smaller
            model or dataset).
        log: progress printer.

    Returns:
        The run's record (``result.json``): setting, seed, iterations,
        training seconds and, per evaluation, the metrics, the forward
        passes per test image (and the tuned temperature).
    """
    setting: Setting = SETTINGS[name]
    iters_tag = iters or DEFAULT_ITERS
    run_dir = osp.join(work_dir, f'{name}_it{iters_tag}_seed{seed}')
    os.makedirs(run_dir, exist_ok=True)
    path = osp.join(run_dir, RESULT)
    result = dict(setting=name, seed=seed, iters=iters_tag, evals={})
    if osp.isfile(path):
        with open(path) as f:
            result = json.load(f)
    tag = f'{name} seed {seed}'
    ckpt = osp.join(run_dir, f'iter_{iters_tag}.pth')
    config = setting.path()
    opts = list(options)

    if 'train_seconds' not in result:
        log(f'[ablation] {tag}: training {iters_tag} iterations')
        train_opts = opts + (schedule_options(iters) if iters else []) + [
            f'randomness.seed={seed}',
            # Tuned apart (tools/tune_temperature.py), so that the final
            # validation is the untuned model.
            'custom_hooks=[]']
        out = run_tool(['tools/train.py', config, '--work-dir', run_dir,
                        '--cfg-options', *train_opts],
                       osp.join(run_dir, 'train.log'))
        with open(osp.join(run_dir, 'train_time.json')) as f:
            timing = json.load(f)
        result.update(train_seconds=timing['train_seconds'],
                      seconds_per_iter=timing['seconds_per_iter'])
        result['evals']['whole'] = dict(read_metrics(out, 'val'), passes=1)
        _save(path, result)
        log(f"[ablation] {tag}: trained in {timing['train_seconds']:.0f} s, "
            f"whole-image mIoU {result['evals']['whole']['mIoU']:.2f}")
    else:
        log(f'[ablation] {tag}: trained before, skipped')

    for ev in evals:
        if ev in result['evals']:
            continue
        log(f'[ablation] {tag}: evaluation {ev}')
        test_config, weights, extra = config, ckpt, {}
        if ev == 'tuned':
            weights = osp.join(run_dir, 'tuned.pth')
            run_tool(['tools/tune_temperature.py', config, ckpt, '--out',
                      weights, '--num-images', str(num_tune_images),
                      '--work-dir', osp.join(run_dir, 'tune'),
                      *(['--cfg-options', *opts] if opts else [])],
                     osp.join(run_dir, 'tune.log'))
            with open(osp.join(run_dir, 'tune', 'temperature',
                               'temperature.json')) as f:
                extra['temperature'] = json.load(f)['best']
        elif ev != 'whole':
            if ev not in setting.test_configs:
                raise KeyError(f'setting {name} has no {ev!r} test config')
            test_config = setting.path(setting.test_configs[ev])
        out = run_tool(['tools/test.py', test_config, weights, '--work-dir',
                        osp.join(run_dir, f'test_{ev}'),
                        *(['--cfg-options', *opts] if opts else [])],
                       osp.join(run_dir, f'test_{ev}.log'))
        result['evals'][ev] = dict(read_metrics(out, 'test'),
                                   passes=slide_passes(test_config, opts),
                                   **extra)
        _save(path, result)
        log(f"[ablation] {tag}: {ev} mIoU {result['evals'][ev]['mIoU']:.2f}")
    return result
