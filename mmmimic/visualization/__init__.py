from .ablation_plot import save_ablation_plot
from .figure import save_figure
from .mr_curves import save_mr_curves
from .schedule_plot import save_schedule_plot, schedule_points

__all__ = ['save_ablation_plot', 'save_figure', 'save_mr_curves',
           'save_schedule_plot', 'schedule_points']
