from .feature_mimic_distiller import FeatureMimicDistiller
from .levels import align_maps, feature_strides, image_stride, match_levels
from .mimic_adapter import MimicAdapter

__all__ = ['FeatureMimicDistiller', 'MimicAdapter', 'align_maps',
           'feature_strides', 'image_stride', 'match_levels']
