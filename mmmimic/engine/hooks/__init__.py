from .mimic_schedule_hook import MimicScheduleHook
from .rng_state_hook import RNGStateHook

__all__ = ['MimicScheduleHook', 'RNGStateHook']
