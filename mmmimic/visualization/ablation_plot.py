"""The demo's ablation figure: every row's MR-2 per seed at a glance."""
from typing import Dict, Optional

from .figure import save_figure


def save_ablation_plot(rows: Dict[str, Dict[str, float]], path: str,
                       references: Optional[Dict[str, float]] = None,
                       title: str = '') -> None:
    """One horizontal line per row: each seed's MR-2 (%) as a dot, the mean
    as a bar; ``references`` (name -> MR-2) as vertical lines (the teacher,
    the student alone), so that which parts of the method matter shows at a
    glance. Rows are drawn top to bottom in the order given; a row without
    numbers is left empty. Written as PNG through a temporary file."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(rows)
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(names) + 1.6), dpi=120)
    for i, name in enumerate(names):
        values = list(rows[name].values())
        if not values:
            continue
        mean = sum(values) / len(values)
        ax.barh(i, mean, height=0.6, color='tab:blue', alpha=0.3)
        ax.plot(values, [i] * len(values), 'o', color='tab:blue',
                markersize=4)
        # the mean's label right of the bar and of every dot, not on them
        ax.text(max(values) + 1, i, f'mean {mean:.1f}', va='center',
                fontsize=7)
    colours = ['black', 'tab:red', 'tab:green', 'tab:purple']
    for k, (name, value) in enumerate((references or {}).items()):
        ax.axvline(value, color=colours[k % len(colours)], linestyle='--',
                   linewidth=1, label=f'{name} {value:.1f}')
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel('MR-2 (%), Reasonable; dots: seeds, bar: mean; lower is '
                  'better')
    if title:
        ax.set_title(title, fontsize=9)
    if references:
        ax.legend(loc='lower right', fontsize=7)
    ax.grid(True, axis='x', linestyle=':', linewidth=0.5)
    fig.tight_layout()
    save_figure(fig, path)
