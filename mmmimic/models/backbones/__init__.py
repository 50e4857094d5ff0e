from .det_mobilenet_v2 import DetMobileNetV2
from .thin_inception_v3 import ThinInceptionV3

__all__ = ['DetMobileNetV2', 'ThinInceptionV3']
