from .mimic_region_sampler import MimicRegionSampler

__all__ = ['MimicRegionSampler']
