from .bbox_heads import RFCNBBoxHead
from .rfcn_roi_head import RFCNRoIHead
from .roi_extractors import PSRoIExtractor, PSRoIPool, ps_roi_pool

__all__ = [
    'RFCNBBoxHead', 'RFCNRoIHead', 'PSRoIExtractor', 'PSRoIPool', 'ps_roi_pool'
]
