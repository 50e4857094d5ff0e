from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmimic.registry import MODELS
from mmmimic.utils.compat import has_bbox_forward

from .mimic_step import BaseMimicLoss, MimicStep


@MODELS.register_module()
class Stage2MimicLoss(BaseMimicLoss):
    r"""Two-stage mimic: the teacher's R-CNN outputs on the mimic regions as
    soft targets of the student's (the paper's §3.3).

    .. math::
        L_{cls} = T^2\,\mathrm{KL}\big(\sigma(t / T) \,\|\, \sigma(s / T)\big)
        \ \text{(or } \tfrac{1}{2n}\sum_i \lVert s_i - t_i \rVert^2\text{)},
        \quad
        L_{reg} = \frac{1}{2 n_+} \sum_{i \in +} \lVert s^{reg}_i -
        t^{reg}_i \rVert^2

    over the n mimic regions (regression over the n+ positive ones).

    Args:
        cls_weight (float): Weight of ``loss_mimic_s2_cls``.
        reg_weight (float): Weight of ``loss_mimic_s2_reg``.
        cls_loss (str): ``'kl'`` (softened by ``temperature``) or ``'l2'`` on
            the logits.
        temperature (float): T of ``'kl'``, > 0.
    """
    loss_names = ('loss_mimic_s2_cls', 'loss_mimic_s2_reg')

    def __init__(self, cls_weight: float = 1.0, reg_weight: float = 1.0,
                 cls_loss: str = 'kl', temperature: float = 1.0) -> None:
        super().__init__()
        if cls_loss not in ('kl', 'l2'):
            raise ValueError(f'stage2_mimic.cls_loss={cls_loss!r}: '
                             "'kl' or 'l2'")
        if not temperature > 0:
            raise ValueError(
                f'stage2_mimic.temperature={temperature}: must be > 0')
        self.cls_weight = cls_weight
        self.reg_weight = reg_weight
        self.cls_loss = cls_loss
        self.temperature = temperature

    def weights(self) -> dict:
        return dict(cls_weight=self.cls_weight, reg_weight=self.reg_weight)

    def check(self, student: nn.Module, teacher: nn.Module) -> None:
        for role, detector in (('student', student), ('teacher', teacher)):
            if not has_bbox_forward(getattr(detector, 'roi_head', None)):
                raise ValueError(
                    f'stage2_mimic needs a {role} whose RoI head computes '
                    'its box branch on given regions as mmdet\'s '
                    f'StandardRoIHead does; {type(detector).__name__} has '
                    f'{type(getattr(detector, "roi_head", None)).__name__}. '
                    'Remove stage2_mimic or use a two-stage detector with a '
                    'standard RoI head.')

    def forward(self, student: Dict[str, Tensor], teacher: Dict[str, Tensor],
                positives: Tensor) -> Dict[str, Tensor]:
        """Compare the two RoI heads' outputs on the same regions.

        Args:
            student (dict): ``cls_score`` (n, K + 1) and ``bbox_pred``
                (n, 4 or 4K) of the student's RoI head.
            teacher (dict): the same from the teacher's.
            positives (Tensor): (n, ) bool mask of the regions regressed.

        Returns:
            dict: ``loss_mimic_s2_cls`` and ``loss_mimic_s2_reg``, weighted.
        """
        for key in ('cls_score', 'bbox_pred'):
            if student[key].shape != teacher[key].shape:
                raise ValueError(
                    f'stage2_mimic: student {key} '
                    f'{tuple(student[key].shape)} and teacher {key} '
                    f'{tuple(teacher[key].shape)} differ; the two RoI heads '
                    'need the same num_classes and reg_class_agnostic')
        s_cls, t_cls = student['cls_score'].float(), teacher['cls_score'].float()
        if self.cls_loss == 'kl':
            temp = self.temperature
            loss_cls = F.kl_div(F.log_softmax(s_cls / temp, dim=1),
                                F.softmax(t_cls / temp, dim=1),
                                reduction='batchmean') * temp**2
        else:
            loss_cls = 0.5 * (s_cls - t_cls).pow(2).sum(1).mean() \
                if len(s_cls) else s_cls.sum() * 0
        s_reg = student['bbox_pred'].float()[positives]
        t_reg = teacher['bbox_pred'].float()[positives]
        loss_reg = 0.5 * (s_reg - t_reg).pow(2).sum(1).mean() if len(s_reg) \
            else student['bbox_pred'].sum() * 0
        return dict(loss_mimic_s2_cls=self.cls_weight * loss_cls,
                    loss_mimic_s2_reg=self.reg_weight * loss_reg)

    def step_loss(self, step: MimicStep) -> dict:
        """Both RoI heads on the mimic regions, each in its own pixels (the
        teacher's without gradients)."""
        return self(step.student_rcnn, step.teacher_rcnn, step.positives)
