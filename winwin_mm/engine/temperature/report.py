"""Save and print a tuning report: JSON, PNG curve, log lines."""
import json
import os
import os.path as osp
from typing import List, Tuple


def curve_lines(report: dict) -> List[str]:
    """The report as log lines: the curve (best marked) and the costs."""
    lines = [f'temperature tuning ({report["mode"]}, '
             f'{report["num_images"]} full-resolution training images):']
    for m, loss in report['curve']:
        mark = '  <- best' if m == report['best'] else ''
        lines.append(f'  x{m:<6.4g} loss {loss:.6f}{mark}')
    if report.get('analytic') is not None:
        dist = report.get('analytic_distance')
        lines.append(f'  analytic log(N_test)/log(N_train) = '
                     f'{report["analytic"]:.4f}' +
                     (f', {dist:.4f} from the optimum' if dist is not None
                      else ''))
    lines.append(f'  {report["evaluations"]} evaluations, '
                 f'{report["forward_passes"]} forward passes (a full grid '
                 f'sweep: {report["grid_forward_passes"]})')
    learned = report.get('learned')
    if learned:
        lines.append(f'  learned per-head: loss {learned["loss"]:.5f} vs '
                     f'{learned["start_loss"]:.5f}, '
                     f'{"kept" if learned["kept"] else "discarded"}, '
                     f'{learned["forward_backward_passes"]} forward+backward '
                     'passes')
    return lines


def save_report(report: dict, out_dir: str) -> Tuple[str, str]:
    """Write ``temperature.json`` and ``temperature.png`` into ``out_dir``.

    Args:
        report: from :func:`~.tuner.tune_temperature`.
        out_dir: folder (created).

    Returns:
        The JSON and PNG paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path = osp.join(out_dir, 'temperature.json')
    with open(json_path, 'w') as f:
        json.dump(report, f, indent=1)
    png_path = osp.join(out_dir, 'temperature.png')
    plot_report(report, png_path)
    return json_path, png_path


def plot_report(report: dict, path: str) -> None:
    """Loss vs multiplier (and the learned mode's loss per step)."""
    import matplotlib
    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    learned = report.get('learned')
    fig, axes = plt.subplots(1, 2 if learned else 1,
                             figsize=(11 if learned else 6, 4),
                             squeeze=False)
    ax = axes[0, 0]
    if report['curve']:
        xs, ys = zip(*report['curve'])
        ax.plot(xs, ys, 'o-', ms=3, label='evaluated')
    if report.get('best') is not None:
        ax.axvline(report['best'], color='g', ls='--',
                   label=f'best x{report["best"]:.3g}')
    if report.get('analytic') is not None:
        ax.axvline(report['analytic'], color='r', ls=':',
                   label=f'analytic x{report["analytic"]:.3g}')
    ax.set_xlabel('temperature multiplier (1 = D^-0.5)')
    ax.set_ylabel('full-resolution train loss')
    ax.set_title(f'{report["mode"]}: {report["evaluations"]} evaluations, '
                 f'{report["num_images"]} images')
    ax.legend()
    if learned:
        ax = axes[0, 1]
        losses = learned['losses']
        k = max(1, len(losses) // 20)  # running mean over k steps
        smooth = [sum(losses[max(0, i - k + 1):i + 1]) /
                  (i + 1 - max(0, i - k + 1)) for i in range(len(losses))]
        ax.plot(losses, lw=0.5, alpha=0.4, label='batch')
        ax.plot(smooth, lw=1.2, label=f'mean of {k}')
        ax.axhline(learned['start_loss'], color='g', ls='--',
                   label='start (measured)')
        ax.axhline(learned['loss'], color='k', ls=':',
                   label='learned (measured)')
        ax.set_xlabel('step')
        ax.set_ylabel('batch loss')
        ax.set_title('learned per-head temperatures')
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
