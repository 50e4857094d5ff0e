from .thin_inception_v3 import ThinInceptionV3

__all__ = ['ThinInceptionV3']
