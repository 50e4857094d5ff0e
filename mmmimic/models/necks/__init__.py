from .deconv_neck import DeconvNeck

__all__ = ['DeconvNeck']
