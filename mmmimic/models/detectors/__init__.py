from .feature_mimic_distiller import FeatureMimicDistiller

__all__ = ['FeatureMimicDistiller']
