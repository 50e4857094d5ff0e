from .caltech import CaltechPedestrianDataset

__all__ = ['CaltechPedestrianDataset']
