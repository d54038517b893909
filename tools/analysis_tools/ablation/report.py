"""Tables (Markdown, JSON) and the mIoU-vs-training-time plot of a study."""
import json
import os.path as osp
import statistics
from typing import Dict, List, Sequence, Tuple

from .settings import EVALS, SETTINGS


def _mean_std(values: Sequence[float]) -> Tuple[float, float]:
    mean = statistics.mean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(plan: Sequence[Tuple[str, Sequence[str]]],
              results: Sequence[dict]) -> List[Dict]:
    """One row per (setting, evaluation) of the plan, over the seeds run.

    Returns:
        Rows with the setting, its label, the evaluation, training tokens
        (and extra tokens) per image, test forward passes per image, mIoU
        and training seconds (mean, std, per seed) and the seeds; ``tuned``
        rows also give the mean temperature multiplier.
    """
    rows = []
    for name, evals in plan:
        runs = [r for r in results if r['setting'] == name]
        setting = SETTINGS[name]
        for ev in evals:
            done = [r for r in runs if ev in r['evals']]
            if not done:
                continue
            miou = [r['evals'][ev]['mIoU'] for r in done]
            secs = [r['train_seconds'] for r in done]
            row = dict(setting=name, label=setting.label, eval=ev,
                       tokens=setting.tokens,
                       extra_tokens=setting.extra_tokens,
                       passes=done[0]['evals'][ev]['passes'],
                       miou_mean=_mean_std(miou)[0],
                       miou_std=_mean_std(miou)[1], miou=miou,
                       train_seconds_mean=_mean_std(secs)[0],
                       train_seconds_std=_mean_std(secs)[1],
                       train_seconds=secs, iters=done[0]['iters'],
                       seeds=[r['seed'] for r in done])
            if ev == 'tuned':
                row['temperature_mean'] = statistics.mean(
                    r['evals'][ev]['temperature'] for r in done)
            rows.append(row)
    return rows


def markdown(study: str, rows: Sequence[Dict]) -> str:
    """The study's table, one row per (setting, evaluation)."""
    lines = [f'### Study `{study}`', '',
             '| setting | train tokens / image | test | test passes / '
             'image | mIoU (mean ± std) | training time, s (mean ± std) | '
             'seeds |', '|---|---|---|---|---|---|---|']
    for r in rows:
        tokens = str(r['tokens']) + (f' + {r["extra_tokens"]} extra'
                                     if r['extra_tokens'] else '')
        test = EVALS[r['eval']]
        if 'temperature_mean' in r:
            test += f' (×{r["temperature_mean"]:.2f})'
        lines.append(
            f'| {r["label"]} | {tokens} | {test} | {r["passes"]} | '
            f'{r["miou_mean"]:.2f} ± {r["miou_std"]:.2f} | '
            f'{r["train_seconds_mean"]:.1f} ± {r["train_seconds_std"]:.1f} | '
            f'{",".join(map(str, r["seeds"]))} |')
    iters = sorted({r['iters'] for r in rows})
    lines += ['', f'{"/".join(map(str, iters))} training iterations per run; '
              'mIoU (%) on the validation scenes; training time = the '
              'training iterations alone (TrainTimeHook), without start-up, '
              'validation or tuning.', '']
    return '\n'.join(lines)


def plot(study: str, rows: Sequence[Dict], path: str) -> None:
    """mIoU vs training time, one point per row with the seed spread as
    error bars (the paper's Fig. 1 left)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, max(4.5, 0.28 * len(rows) + 1)))
    markers = 'osD^v<>Pp*hX'
    for i, r in enumerate(rows):
        label = f'{r["label"]} — {EVALS[r["eval"]]}'
        ax.errorbar(r['train_seconds_mean'], r['miou_mean'],
                    xerr=r['train_seconds_std'], yerr=r['miou_std'],
                    fmt=markers[i % len(markers)], capsize=3, label=label)
    ax.set_xlabel('training time (s, training iterations only)')
    ax.set_ylabel('validation mIoU (%)')
    ax.set_title(f'winwin_mm ablation study "{study}" (CPU scale)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(study: str, rows: Sequence[Dict], results: Sequence[dict],
                 work_dir: str) -> List[str]:
    """Write ``{study}.md``, ``{study}.json`` and ``{study}.png`` in
    ``work_dir``; returns the paths."""
    base = osp.join(work_dir, study)
    with open(base + '.md', 'w') as f:
        f.write(markdown(study, rows))
    with open(base + '.json', 'w') as f:
        json.dump(dict(study=study, rows=list(rows), runs=list(results)), f,
                  indent=1)
    plot(study, rows, base + '.png')
    return [base + '.md', base + '.json', base + '.png']
