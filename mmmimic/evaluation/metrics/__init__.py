from .caltech_mr_metric import CaltechMRMetric, evaluate_predictions, save_mr_curves

__all__ = ['CaltechMRMetric', 'evaluate_predictions', 'save_mr_curves']
