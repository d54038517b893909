"""Figure 5: mIoU against the test crop size, one line per model."""
from typing import Dict, List, Optional, Tuple


def plot_study(study: dict, out_png: str, title: Optional[str] = None
               ) -> Dict[str, Tuple[List[int], List[float]]]:
    """Draw the JSON of :func:`run_study`: x = test crop (tokens of the
    crop, labelled HxW), one line per model, the reference line (each
    fixed-size model at its own training size) dashed.

    Returns:
        ``{label: (crop areas in pixels, mIoU)}`` of every drawn line.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    sizes = study['sizes']
    pixels = [int(s.split('x')[0]) * int(s.split('x')[1]) for s in sizes]
    fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=90)
    drawn = {}
    for entry in study['models']:
        xs = [p for s, p in zip(sizes, pixels) if s in entry['miou']]
        ys = [entry['miou'][s] for s in sizes if s in entry['miou']]
        ax.plot(xs, ys, marker='o', label=entry['label'])
        drawn[entry['label']] = (xs, ys)
    ref = study.get('reference', {})
    if ref:
        pts = sorted((pixels[sizes.index(s)], v) for s, v in ref.items())
        ax.plot(*zip(*pts), 'k--', marker='s',
                label='trained at the test size')
        drawn['trained at the test size'] = ([p for p, _ in pts],
                                             [v for _, v in pts])
    ax.set_xscale('log')
    ax.set_xticks(pixels)
    ax.set_xticklabels(sizes, rotation=30, fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel('test crop (HxW pixels)')
    ax.set_ylabel('mIoU')
    crops = {'grid': 'grids of crops', 'center': 'centre crops'}.get(
        study.get('crops', 'center'), 'crops')
    ax.set_title(title or f'mIoU vs test resolution ({crops})', fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)
    return drawn
