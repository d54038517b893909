"""Reproduce the ordering of the paper's Table 3 on generated flow scenes.

Each setting trains the flow demo's model (``configs/winwin/winwin-flow_*``)
through ``tools/train.py`` with other frame-2 windows, then evaluates it on
whole frames through ``tools/test.py``; the table (EPE, outlier rates, tokens
per frame, training time) is written as Markdown and JSON. Finished runs are
skipped, so an interrupted study resumes where it stopped.

    python tools/flow_window_study.py [--iters 600] [--seeds 0 1] \
        [--settings flow_guided same single] [--work-dir work_dirs/flow_study]
        [--config CONFIG] [--img-size H W] [--cfg-options KEY=VALUE ...]

``--img-size 512 768`` trains and evaluates on generated frames of that
size (written on first use to ``data/synthetic_flow_512x768``) with the same
windows, i.e. windows that cover a smaller part of each frame.
``--cfg-options`` go to both ``tools/train.py`` and ``tools/test.py``.

Besides the frame-2 window settings of Table 3: token budgets
(``tokens_50``, ``tokens_98``, ``tokens_128`` beside the demo's 72;
Table 4 left) and the crop baselines of Table 4 right (``crop_resize``,
``crop_tile``: the ``single`` run's checkpoint, one window shared by both
frames = a crop, tested with resized frames or with tiles).

``--config`` takes another flow config with one ``FlowGuidedWindows`` in
its training pipeline, e.g. the demo model fine-tuned from cross-view
completion (``winwin-flow-cvc_*``) or the demo's scenes at twice their size
so that motions span twice as many tokens (``winwin-flow_*-2x-512x768``).
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'winwin',
                  'winwin-flow_vit-t16-rope_1xb4-600_synthetic-flow-256x384.py')
WINDOWS = 'train_dataloader.dataset.pipeline.3'  # the demo's windows

# name -> (description, FlowGuidedWindows options, tokens frame 1 / frame 2)
SETTINGS: Dict[str, tuple] = {
    'flow_guided': ('2 win. 6x6 \\| 4 flow-guided win. 4x4, stoch. 0.3',
                    dict(num_windows=2, window_size=6, num_windows2=4,
                         window_size2=4, stochasticity=0.3,
                         mode='flow_guided'), (72, 64)),
    'flow_guided_6x6': ('2 win. 6x6 \\| 2 flow-guided win. 6x6, stoch. 0.3',
                        dict(num_windows=2, window_size=6, num_windows2=2,
                             window_size2=6, stochasticity=0.3,
                             mode='flow_guided'), (72, 72)),
    'random2': ('2 win. 6x6 \\| 4 random win. 4x4',
                dict(num_windows=2, window_size=6, num_windows2=4,
                     window_size2=4, mode='random'), (72, 64)),
    'same': ('2 win. 6x6 \\| same windows',
             dict(num_windows=2, window_size=6, num_windows2=None,
                  window_size2=None, mode='same'), (72, 72)),
    'single': ('1 win. 8x9 \\| same window',
               dict(num_windows=1, window_size=[8, 9], num_windows2=None,
                    window_size2=None, mode='same'), (72, 72)),
    # Token budget (paper Table 4 left: 200 / 300 / 400 / 500 of Sintel's
    # 1728 tokens, frame 2 about as many as frame 1) around the demo's
    # 72 / 64 of 384 tokens.
    'tokens_50': ('2 win. 5x5 \\| 4 flow-guided win. 3x4, stoch. 0.3',
                  dict(num_windows=2, window_size=5, num_windows2=4,
                       window_size2=[3, 4], stochasticity=0.3,
                       mode='flow_guided'), (50, 48)),
    'tokens_98': ('2 win. 7x7 \\| 4 flow-guided win. 5x5, stoch. 0.3',
                  dict(num_windows=2, window_size=7, num_windows2=4,
                       window_size2=5, stochasticity=0.3,
                       mode='flow_guided'), (98, 100)),
    'tokens_128': ('2 win. 8x8 \\| 4 flow-guided win. 5x6, stoch. 0.3',
                   dict(num_windows=2, window_size=8, num_windows2=4,
                        window_size2=[5, 6], stochasticity=0.3,
                        mode='flow_guided'), (128, 120)),
}

# Other tests of a trained setting (paper Table 4 right, the crop
# baselines): name -> (description, the setting whose checkpoint is tested,
# test --cfg-options). One window shared by both frames is a crop of the
# pair (RoPE positions are relative; the demo's patch embedding may still
# read pixels around the window's border patches).
TEST_VARIANTS: Dict[str, tuple] = {
    'crop_resize': ('crop 128x144 (= single) \\| test: frames resized to '
                    '128x144', 'single',
                    ['model.test_cfg.mode=resize',
                     'model.test_cfg.crop_size=[128,144]']),
    'crop_tile': ('crop 128x144 (= single) \\| test: 128x144 tiles, '
                  'overlap 0.7', 'single',
                  ['model.test_cfg.mode=tile',
                   'model.test_cfg.crop_size=[128,144]',
                   'model.test_cfg.overlap=0.7']),
}
ALL = list(SETTINGS) + list(TEST_VARIANTS)  # table order


def cfg_value(v) -> str:
    return f"'{v}'" if isinstance(v, str) else str(v)


def run(cmd: List[str], log: str) -> str:
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable, *cmd], cwd=ROOT, stdout=f,
                              stderr=subprocess.STDOUT, text=True)
    out = open(log).read()
    if proc.returncode:
        sys.exit(f'error: {" ".join(cmd[:2])} failed, see {log}:\n'
                 + out[-3000:])
    return out


def metrics(log_text: str) -> Dict[str, float]:
    lines = re.findall(r'Iter\(test\) \[\d+/\d+\] +EPE.*', log_text)
    if not lines:
        raise RuntimeError('no test metrics in the log')
    return {k: float(v) for k, v in re.findall(r'([\w.+-]+): ([0-9.]+)',
                                               lines[-1])}


def windows_key(config: str) -> str:
    """The ``--cfg-options`` key of the ``FlowGuidedWindows`` in the
    training pipeline of ``config`` (the settings override its options)."""
    from mmengine.config import Config
    pipeline = Config.fromfile(config).train_dataloader.dataset.get(
        'pipeline', [])
    found = [i for i, t in enumerate(pipeline)
             if t.get('type') == 'FlowGuidedWindows']
    if len(found) != 1:
        sys.exit(f'error: {config}: train_dataloader.dataset.pipeline must '
                 f'hold one FlowGuidedWindows, found {len(found)}; the '
                 'study overrides its options')
    return f'train_dataloader.dataset.pipeline.{found[0]}'


def train_options(name: str, seed: int, iters: int,
                  windows: str = WINDOWS) -> List[str]:
    """``--cfg-options`` of one training run: the setting's windows (on the
    transform at key ``windows``) and a schedule of ``iters`` iterations
    (warm-up a fifteenth of it)."""
    opts = [f'{windows}.{k}={cfg_value(v)}'
            for k, v in SETTINGS[name][1].items()]
    warm = max(1, iters // 15)
    return opts + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
        f'param_scheduler.1.end={iters}', f'randomness.seed={seed}',
        # The study compares windows; the temperature is tuned apart.
        'custom_hooks=[]']


def size_options(height: int, width: int) -> List[str]:
    """``--cfg-options`` that train and evaluate on generated frames of
    ``height`` x ``width`` in a folder of their own (the dataset refuses a
    folder generated at another size)."""
    root = f'data/synthetic_flow_{height}x{width}'
    return [f'{loader}.dataset.{key}={value}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')
            for key, value in (('img_size', f'[{height},{width}]'),
                               ('data_root', root))]


def test_variant(name: str, seed: int, iters: int, work: str,
                 config: str = CONFIG, extra: List[str] = ()) -> dict:
    """Test the checkpoint of ``TEST_VARIANTS[name]``'s setting (trained
    first when missing) with the variant's test options."""
    _, base, test_opts = TEST_VARIANTS[name]
    out_dir = osp.join(work, f'{name}_seed{seed}')
    result_file = osp.join(out_dir, 'result.json')
    if osp.isfile(result_file):
        print(f'[study] {name} seed {seed}: done before, skipped')
        return json.load(open(result_file))
    trained = one_run(base, seed, iters, work, config, extra)
    os.makedirs(out_dir, exist_ok=True)
    ckpt = osp.join(work, f'{base}_seed{seed}', f'iter_{iters}.pth')
    test = run(['tools/test.py', config, ckpt, '--work-dir',
                osp.join(out_dir, 'test'), '--cfg-options', *extra,
                *test_opts], osp.join(out_dir, 'test.log'))
    m = metrics(test)
    result = dict(setting=name, seed=seed, iters=iters,
                  train_seconds=trained.get('train_seconds'), **m)
    json.dump(result, open(result_file, 'w'), indent=1)
    print(f"[study] {name} seed {seed}: EPE {m['EPE']:.3f}", flush=True)
    return result


def one_run(name: str, seed: int, iters: int, work: str,
            config: str = CONFIG, extra: List[str] = ()) -> dict:
    if name in TEST_VARIANTS:
        return test_variant(name, seed, iters, work, config, extra)
    out_dir = osp.join(work, f'{name}_seed{seed}')
    result_file = osp.join(out_dir, 'result.json')
    if osp.isfile(result_file):
        print(f'[study] {name} seed {seed}: done before, skipped')
        return json.load(open(result_file))
    os.makedirs(out_dir, exist_ok=True)
    opts = train_options(name, seed, iters, windows_key(config)) \
        + list(extra)
    print(f'[study] {name} seed {seed}: training {iters} iterations '
          f'({SETTINGS[name][0]})', flush=True)
    t0 = time.time()
    run(['tools/train.py', config, '--work-dir', out_dir, '--cfg-options',
         *opts], osp.join(out_dir, 'train.log'))
    train_s = time.time() - t0
    test = run(['tools/test.py', config, osp.join(out_dir, f'iter_{iters}.pth'),
                '--work-dir', osp.join(out_dir, 'test')]
               + (['--cfg-options', *extra] if extra else []),
               osp.join(out_dir, 'test.log'))
    m = metrics(test)
    result = dict(setting=name, seed=seed, iters=iters,
                  train_seconds=round(train_s, 1), **m)
    json.dump(result, open(result_file, 'w'), indent=1)
    print(f"[study] {name} seed {seed}: EPE {m['EPE']:.3f} "
          f'(training {train_s:.0f} s)', flush=True)
    return result


def collect(work: str, iters: int) -> List[dict]:
    """Every finished run of ``iters`` iterations in ``work``, in the order
    of :data:`SETTINGS` then seed. Why not only this invocation's runs:
    seeds are run as parallel processes sharing one work dir (one thread
    each), and each process must still write the whole table."""
    results = []
    for entry in sorted(os.listdir(work)):
        f = osp.join(work, entry, 'result.json')
        if osp.isfile(f):
            r = json.load(open(f))
            if r.get('iters') == iters and r.get('setting') in ALL:
                results.append(r)
    order = list(ALL)
    return sorted(results, key=lambda r: (order.index(r['setting']),
                                          r['seed']))


def paired_wins(results: List[dict]) -> List[str]:
    """For each two settings, on the seeds both ran: in how many seeds the
    first has the lower EPE. Same seed = same data order and initialisation
    draws, so this is the comparison that seed noise affects least."""
    epe = {}
    for r in results:
        epe.setdefault(r['setting'], {})[r['seed']] = r['EPE']
    names = [n for n in ALL if n in epe]
    lines = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            seeds = sorted(set(epe[a]) & set(epe[b]))
            if not seeds:
                continue
            won = [s for s in seeds if epe[a][s] < epe[b][s]]
            lines.append(f'- {a} beats {b} in {len(won)} of {len(seeds)} '
                         f'seeds ({",".join(map(str, won)) or "none"})')
    return lines


def _rows() -> Dict[str, tuple]:
    """name -> (description, training tokens frame 1 / frame 2)."""
    rows = {n: (d, t) for n, (d, _, t) in SETTINGS.items()}
    rows.update({n: (d, SETTINGS[base][2])
                 for n, (d, base, _) in TEST_VARIANTS.items()})
    return rows


def table(results: List[dict], iters: int) -> str:
    rows = ['| Frame 1 (N) windows \\| frame 2 (M) windows | tokens f1/f2 | '
            'EPE | per seed | >1px % | >3px % | seeds |',
            '|---|---|---|---|---|---|---|']
    for name, (desc, tokens) in _rows().items():
        rs = [r for r in results if r['setting'] == name]
        if not rs:
            continue

        def ms(key):
            v = [r[key] for r in rs]
            sd = statistics.stdev(v) if len(v) > 1 else 0.
            return f'{statistics.mean(v):.3f} ± {sd:.3f}' if len(v) > 1 \
                else f'{v[0]:.3f}'
        per_seed = ', '.join(f'{r["EPE"]:.3f}' for r in rs)
        rows.append(f'| {desc} | {tokens[0]}/{tokens[1]} | {ms("EPE")} | '
                    f'{per_seed} | {ms("bad1")} | {ms("bad3")} | '
                    f'{",".join(str(r["seed"]) for r in rs)} |')
    wins = paired_wins(results)
    if wins:
        rows += ['', 'Same seed, lower EPE:', ''] + wins
    return '\n'.join(rows) + (f'\n\n{iters} training iterations per run, '
                              'batch 4, whole-frame one-pass evaluation on '
                              'the 18 validation pairs (crop rows: the test '
                              'their row names).\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=600,
                        help='training iterations per run (the demo: 600)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--settings', nargs='+', default=['flow_guided',
                                                          'same', 'single'],
                        choices=list(ALL))
    parser.add_argument('--work-dir', default='work_dirs/flow_window_study')
    parser.add_argument('--config', default=CONFIG,
                        help='flow config to train (default: the demo)')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='generated frame size (default: the config\'s)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='config overrides for training and testing '
                        '(e.g. larger generated frames)')
    args = parser.parse_args()
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    extra = (size_options(*args.img_size) if args.img_size else []) \
        + args.cfg_options
    for name in args.settings:
        for seed in args.seeds:
            one_run(name, seed, args.iters, work, args.config, extra)
    # The table covers every run of this length in the work dir, also
    # those of other invocations (e.g. other seeds run side by side).
    results = collect(work, args.iters)
    md = table(results, args.iters)
    with open(osp.join(work, 'results.md'), 'w') as f:
        f.write(md)
    json.dump(results, open(osp.join(work, 'results.json'), 'w'), indent=1)
    print(md)
    print(f'[study] results: {work}/results.md and results.json')


if __name__ == '__main__':
    main()
