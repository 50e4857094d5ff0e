"""What one training step of a distiller offers its mimic terms."""
from dataclasses import dataclass
from typing import List, Tuple

import torch.nn as nn
from torch import Tensor


@dataclass
class MimicStep:
    """The tensors of one training step that a mimic term may compare.

    Attributes:
        student (nn.Module): The distiller; its own ``backbone``/``rpn_head``/
            ``roi_head`` are the student's, and its public steps
            (``mimic_pairs``, ``adapted_student``, ``mimic_strides``) give the
            mimicked maps.
        teacher (nn.Module): The frozen teacher detector (eval mode).
        x (tuple[Tensor]): The student's levels, each (B, C_s, H_s, W_s), on
            the student's own (possibly resized) input.
        teacher_x (tuple[Tensor] | None): The teacher's levels, each
            (B, C_t, H_t, W_t), computed without gradients; None when the
            schedule has switched mimic off (the teacher is not run).
        rpn_outs (tuple): The student's raw RPN outputs of this step
            (``cls_scores``, ``bbox_preds``: lists of (B, A * c, H, W)).
        student_rois (Tensor): (n, 5) mimic regions ``[batch_idx, x1, y1, x2,
            y2]`` in the student's input pixels.
        teacher_rois (Tensor): (n, 5) the same regions in the teacher's input
            pixels (the batch's).
        positives (Tensor): (n, ) bool, regions matched to a ground-truth box.
    """
    student: nn.Module
    teacher: nn.Module
    x: Tuple[Tensor, ...]
    teacher_x: Tuple[Tensor, ...] = None
    rpn_outs: tuple = None
    student_rois: Tensor = None
    teacher_rois: Tensor = None
    positives: Tensor = None

    def pairs(self) -> Tuple[List[Tensor], List[Tensor]]:
        """Student (after the adapter) and teacher maps, one pair per mimicked
        level, each (B, C_t, H, W)."""
        return self.student.mimic_pairs(self.x, self.teacher_x)


class BaseMimicLoss(nn.Module):
    """One mimic term of a distiller's training step.

    A term is an ``nn.Module`` whose ``forward`` compares tensors (documented
    with their shapes in each subclass); :meth:`step_loss` takes what it needs
    from a :class:`MimicStep` and returns its ``loss_mimic*`` entries, and
    :meth:`zero_losses` gives the same keys at zero for iterations where the
    schedule has turned mimic off (so that the logs keep their columns and DDP
    sees the same parameters used).

    Subclasses set ``loss_names`` and implement :meth:`step_loss`.
    """
    loss_names: Tuple[str, ...] = ()

    def weights(self) -> dict:
        """The term's weights by config key (each must be finite and >= 0)."""
        return {}

    def check(self, student: nn.Module, teacher: nn.Module) -> None:
        """Refuse a student/teacher pair the term cannot compare, at build
        time (default: accept)."""

    def step_loss(self, step: MimicStep) -> dict:
        """``{name: scalar Tensor}`` for every name in ``loss_names``."""
        raise NotImplementedError

    def zero_losses(self, step: MimicStep) -> dict:
        """The same keys as :meth:`step_loss`, at zero."""
        zero = step.x[0].new_zeros(())
        return {name: zero for name in self.loss_names}
