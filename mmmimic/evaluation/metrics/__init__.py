from .caltech_mr_metric import CaltechMRMetric, save_mr_curves

__all__ = ['CaltechMRMetric', 'save_mr_curves']
