import re
from typing import Dict, Optional, Tuple

from .figure import save_figure

#: a results.json row of another schedule: ``NAME@<iters>it`` (with the data
#: variant's suffix before it, e.g. ``mimic@sparse@2000it``)
SCHEDULE_ROW = re.compile(r'^(?P<name>[^@\[]+)(?P<data>(@[a-z]+)*?)'
                          r'(@(?P<iters>\d+)it)?$')


def schedule_points(models: Dict[str, dict], names: Tuple[str, ...],
                    default_iters: int, data: str = ''
                    ) -> Dict[str, Dict[int, Dict[str, float]]]:
    """MR-2 per seed of each row in ``names`` at every schedule length that
    ``models`` (``results.json``'s ``models``) holds for the data variant
    ``data`` (``''`` or e.g. ``'@sparse'``): ``{name: {iters: {seed: mr}}}``;
    a row without ``@<iters>it`` is at ``default_iters``."""
    points: Dict[str, Dict[int, Dict[str, float]]] = {n: {} for n in names}
    for stored, row in models.items():
        match = SCHEDULE_ROW.match(stored)
        if not match or match['name'] not in points or \
                match['data'] != data or not row.get('mr'):
            continue
        iters = int(match['iters']) if match['iters'] else default_iters
        points[match['name']][iters] = dict(row['mr'])
    return points


def save_schedule_plot(points: Dict[str, Dict[int, Dict[str, float]]],
                       path: str, teacher: Optional[float] = None,
                       title: str = '') -> None:
    """MR-2 (%) against training iterations: each row's seeds as dots and
    their mean as a line (``points`` as :func:`schedule_points` gives), the
    teacher's MR-2 as a dashed line. Written as PNG through a temporary
    file."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    colours = ['tab:red', 'tab:blue', 'tab:green', 'tab:purple',
               'tab:orange', 'tab:brown']
    for k, (name, by_iters) in enumerate(points.items()):
        if not by_iters:
            continue
        colour = colours[k % len(colours)]
        xs = sorted(by_iters)
        means = [sum(by_iters[x].values()) / len(by_iters[x]) for x in xs]
        ax.plot(xs, means, '-', color=colour, label=f'{name} (mean)')
        for x in xs:
            values = list(by_iters[x].values())
            ax.plot([x] * len(values), values, 'o', color=colour,
                    markersize=4, alpha=0.6)
            ax.annotate(f'n={len(values)}', (x, means[xs.index(x)]),
                        textcoords='offset points', xytext=(4, 4), fontsize=6,
                        color=colour)
    if teacher is not None:
        ax.axhline(teacher, color='black', linestyle='--', linewidth=1,
                   label=f'teacher {teacher:.1f}')
    ax.set_xscale('log', base=2)
    ticks = sorted({x for by_iters in points.values() for x in by_iters})
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlabel('training iterations (the LR step at 75 % of each)')
    ax.set_ylabel('MR-2 (%), Reasonable; lower is better')
    ax.set_ylim(0, 100)
    ax.grid(True, linestyle=':', linewidth=0.5)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


__all__ = ['schedule_points', 'save_schedule_plot', 'SCHEDULE_ROW']
