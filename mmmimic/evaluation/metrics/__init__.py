from .caltech_mr_metric import CaltechMRMetric, evaluate_predictions

__all__ = ['CaltechMRMetric', 'evaluate_predictions']
