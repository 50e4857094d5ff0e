from .logit_mimic_loss import LogitMimicLoss
from .mimic_step import BaseMimicLoss, MimicStep, zero_through
from .roi_mimic_loss import RoIMimicLoss
from .stage2_mimic_loss import Stage2MimicLoss

__all__ = ['BaseMimicLoss', 'MimicStep', 'RoIMimicLoss', 'Stage2MimicLoss',
           'LogitMimicLoss', 'zero_through']
