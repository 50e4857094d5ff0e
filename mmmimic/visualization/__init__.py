from .figure import save_figure
from .mr_curves import save_mr_curves

__all__ = ['save_figure', 'save_mr_curves']
