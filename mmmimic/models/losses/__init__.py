from .roi_mimic_loss import RoIMimicLoss

__all__ = ['RoIMimicLoss']
