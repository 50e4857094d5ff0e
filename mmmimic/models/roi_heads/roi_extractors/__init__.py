from .ps_roi_extractor import PSRoIExtractor
from .ps_roi_pool import PSRoIPool, ps_roi_pool

__all__ = ['PSRoIExtractor', 'PSRoIPool', 'ps_roi_pool']
