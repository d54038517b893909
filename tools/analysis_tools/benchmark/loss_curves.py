"""Training loss of several runs in one plot, from mmengine's
``vis_data/scalars.json`` (one JSON object per logged iteration)::

    python tools/analysis_tools/benchmark/loss_curves.py \\
        fp32=work_dirs/demo/20261205_052605/vis_data/scalars.json \\
        bf16=work_dirs/demo_bf16/<run>/vis_data/scalars.json,<resumed>/... \\
        --out docs/bf16_loss.png

A run resumed from a checkpoint writes a second ``scalars.json``: give
both, comma-separated; a later file's records replace an earlier one's at
the same iteration.
"""
import argparse
import json
from typing import Dict, List, Tuple

Curve = Tuple[List[int], List[float]]


def read_loss(path: str, key: str = 'loss') -> Curve:
    """``(iterations, values)`` of ``key`` over the training records of a
    ``scalars.json`` (validation records, which have no ``key``, are
    skipped)."""
    iters, values = [], []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if key in record and 'iter' in record:
                iters.append(int(record['iter']))
                values.append(float(record[key]))
    return iters, values


def read_runs(paths: List[str], key: str = 'loss') -> Curve:
    """:func:`read_loss` of several files of one run (resumed), merged by
    iteration (a later file wins at the same iteration)."""
    merged = {}
    for path in paths:
        merged.update(zip(*read_loss(path, key)))
    iters = sorted(merged)
    return iters, [merged[i] for i in iters]


def plot_curves(curves: Dict[str, Curve], out: str,
                title: str = 'training loss') -> None:
    """One line per run, written to ``out`` (a small PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for label, (iters, values) in curves.items():
        ax.plot(iters, values, marker='.', label=label)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss (mean over the last 25 iterations)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+', metavar='LABEL=SCALARS_JSON')
    p.add_argument('--key', default='loss')
    p.add_argument('--title', default='training loss')
    p.add_argument('--out', required=True)
    a = p.parse_args(argv)
    curves = {}
    for run in a.runs:
        label, _, path = run.partition('=')
        curves[label] = read_runs(path.split(','), a.key)
        it, v = curves[label]
        print(f'{label}: {len(it)} points, last {it[-1]}: {v[-1]:.4f}')
    plot_curves(curves, a.out, a.title)
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
