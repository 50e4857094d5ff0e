from typing import Dict, Sequence

import torch.nn as nn
from torch import Tensor

from mmmimic.registry import MODELS

from .mimic_step import BaseMimicLoss, MimicStep


@MODELS.register_module()
class LogitMimicLoss(BaseMimicLoss):
    r"""The paper's logit-mimic baseline (Hinton-style, on the RPN):

    .. math::
        L = \frac{1}{L_v} \sum_{l} \frac{1}{2 |s_l|} \lVert s_l - t_l
        \rVert^2

    per output kind (classification, regression) over the L_v levels, with
    :math:`s_l`, :math:`t_l` the student's and the teacher's RPN outputs of
    level l (identical shapes: same anchors and map sizes).

    Args:
        cls_weight (float): Weight of ``loss_mimic_logit_cls``.
        reg_weight (float): Weight of ``loss_mimic_logit_reg``.
    """
    loss_names = ('loss_mimic_logit_cls', 'loss_mimic_logit_reg')

    def __init__(self, cls_weight: float = 1.0,
                 reg_weight: float = 1.0) -> None:
        super().__init__()
        self.cls_weight = cls_weight
        self.reg_weight = reg_weight

    def weights(self) -> dict:
        return dict(cls_weight=self.cls_weight, reg_weight=self.reg_weight)

    def forward(self, student: Sequence[Sequence[Tensor]],
                teacher: Sequence[Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Compare RPN outputs.

        Args:
            student (tuple): ``(cls_scores, bbox_preds)`` of the student's
                RPN, each a list of (B, A * c, H, W) per level.
            teacher (tuple): the same from the teacher's RPN.

        Returns:
            dict: ``loss_mimic_logit_cls`` and ``loss_mimic_logit_reg``,
            weighted.
        """
        losses = {}
        for name, s_maps, t_maps in zip(('cls', 'reg'), student[:2],
                                        teacher[:2]):
            shapes_s = [tuple(m.shape) for m in s_maps]
            shapes_t = [tuple(m.shape) for m in t_maps]
            if shapes_s != shapes_t:
                raise ValueError(
                    f'logit_mimic: student RPN {name} outputs {shapes_s} and '
                    f'teacher RPN outputs {shapes_t} differ; logit mimic needs '
                    'the same anchors and map sizes (no student_input_scale)')
            loss = sum(0.5 * (s.float() - t.float()).pow(2).mean()
                       for s, t in zip(s_maps, t_maps)) / len(s_maps)
            losses[f'loss_mimic_logit_{name}'] = \
                getattr(self, f'{name}_weight') * loss
        return losses

    def check(self, student: nn.Module, teacher: nn.Module) -> None:
        """Both RPNs must compute their outputs in one ``forward`` (a
        cascade RPN has none: its stages refine anchors in its loss)."""
        for role, detector in (('student', student), ('teacher', teacher)):
            head = getattr(detector, 'rpn_head', None)
            if head is None or type(head).forward is nn.Module.forward:
                raise ValueError(
                    f'logit_mimic: the {role}\'s RPN '
                    f'{type(head).__name__} has no forward giving per-level '
                    '(cls_scores, bbox_preds), which logit mimic compares; '
                    'remove model.logit_mimic (feature mimic, mimic_loss, '
                    'works with any RPN)')

    def step_loss(self, step: MimicStep) -> dict:
        """The student's RPN outputs of this step against the teacher's RPN
        on its own levels (without gradients)."""
        return self(step.student_rpn, step.teacher_rpn)
