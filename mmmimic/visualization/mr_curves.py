"""The benchmark's miss rate vs false positives per image plot."""
from typing import Any, Dict, Optional

import numpy as np

from .figure import save_figure


def save_mr_curves(curves: Dict[str, Any], path: str,
                   styles: Optional[Dict[str, dict]] = None) -> None:
    """Benchmark-style log-log miss rate vs FPPI plot, MR in the legend.

    ``curves`` maps a name to a result with ``fppi``, ``miss_rate`` (arrays)
    and ``mr`` (:class:`mmmimic.evaluation.functional.MissRateResult`).

    ``styles`` maps a curve's name to matplotlib line keywords (colour, line
    style); the miss-rate axis goes down to 0.01 when a curve does."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    lowest = 1.0
    for name, result in sorted(curves.items(), key=lambda kv: -kv[1].mr):
        fppi = np.concatenate([[1e-4], np.maximum(result.fppi, 1e-4)])
        miss = np.concatenate([[1.0], result.miss_rate])
        shown = miss[fppi <= 1e1]
        lowest = min(lowest, float(shown.min()) if len(shown) else 1.0)
        ax.loglog(fppi, miss, drawstyle='steps-post',
                  label=f'{100 * result.mr:.2f}% {name}',
                  **(styles or {}).get(name, {}))
    ax.set_xlim(1e-3, 1e1)
    bottom = 0.05 if lowest >= 0.05 else 0.01
    ax.set_ylim(bottom, 1.0)
    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.64, 0.8, 1.0]
    ticks = [t for t in ticks if t >= bottom]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f'{t:g}' for t in ticks])
    ax.set_xlabel('false positives per image')
    ax.set_ylabel('miss rate')
    ax.grid(True, which='both', linestyle=':', linewidth=0.5)
    ax.legend(loc='lower left', fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
