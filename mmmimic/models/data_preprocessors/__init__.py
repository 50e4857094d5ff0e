from .scaled_det_data_preprocessor import ScaledDetDataPreprocessor, scale_batch

__all__ = ['ScaledDetDataPreprocessor', 'scale_batch']
