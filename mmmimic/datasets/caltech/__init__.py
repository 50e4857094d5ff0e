"""Caltech Pedestrian: the .seq/.vbb readers and writers (``io``), the
conversion to COCO-style JSON and images (``convert``) and the dataset."""
from .dataset import CaltechPedestrianDataset
from .io import CaltechFormatError

__all__ = ['CaltechPedestrianDataset', 'CaltechFormatError']
