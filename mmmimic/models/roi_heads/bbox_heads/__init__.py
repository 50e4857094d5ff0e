from .rfcn_bbox_head import RFCNBBoxHead

__all__ = ['RFCNBBoxHead']
