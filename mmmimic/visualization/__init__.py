from .figure import save_figure

__all__ = ['save_figure']
