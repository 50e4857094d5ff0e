"""Taps the student's own training step for the mimic terms."""
import contextlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from mmmimic.utils.compat import bbox_forward

from ..losses.mimic_step import MimicStep, check_term_losses


def no_grad(function, *args):
    """``function(*args)`` without gradients (the teacher's parts)."""
    with torch.no_grad():
        return function(*args)


class MimicTap:
    """One training step of the student's own ``loss``, tapped.

    While :meth:`attached`, the student's RPN forward outputs are recorded
    (a forward hook; they serve the logit mimic) and its RoI head's ``loss``
    is wrapped: when the student's step calls ``roi_head.loss(x,
    rpn_results_list, batch_data_samples)``, the mimic terms run first, on
    exactly the feature maps and proposals the RoI head is given, then the
    RoI head's own loss. So the order of work and of random draws is the
    student's own: its RPN, the mimic regions, its RoI head sampling.

    A student whose step runs the images several times through branches
    (TridentNet: the batch repeated once per branch, branch-major) is
    mimicked on the branch it tests with (``test_branch_idx``, else 0).

    Args:
        distiller (nn.Module): The :class:`FeatureMimicDistiller`.
        teacher_x (tuple[Tensor] | None): The teacher's levels, each
            (B, C_t, H_t, W_t); None while mimic is off.
        num_images (int): B, the images of the batch.
        scale (tuple[float, float]): Batch-to-student pixel factors.
        weight (float): The schedule's factor of every mimic loss.
    """

    def __init__(self, distiller: nn.Module,
                 teacher_x: Optional[Tuple[Tensor, ...]], num_images: int,
                 scale: Tuple[float, float], weight: float) -> None:
        self.distiller = distiller
        self.teacher_x = teacher_x
        self.num_images = num_images
        self.scale = scale
        self.weight = weight
        self.rpn_outs: Optional[tuple] = None
        #: the terms' losses, once the RoI head's loss was reached
        self.losses: Optional[Dict[str, Tensor]] = None
        self.roi_keys: List[str] = []

    # -- attaching -----------------------------------------------------------
    @contextlib.contextmanager
    def attached(self) -> Iterator['MimicTap']:
        """Hook the RPN and wrap the RoI head's ``loss`` for one step."""
        distiller = self.distiller
        roi_head = distiller.roi_head
        original = roi_head.loss
        handle = distiller.rpn_head.register_forward_hook(self._record_rpn) \
            if getattr(distiller, 'rpn_head', None) is not None else None

        def tapped_loss(x, rpn_results_list, batch_data_samples, *args,
                        **kwargs):
            self._mimic(x, rpn_results_list, batch_data_samples)
            out = original(x, rpn_results_list, batch_data_samples, *args,
                           **kwargs)
            self.roi_keys = list(out)
            return out

        # an instance attribute shadows the method for this step only
        roi_head.loss = tapped_loss
        try:
            yield self
        finally:
            del roi_head.loss
            if handle is not None:
                handle.remove()

    def _record_rpn(self, module: nn.Module, args, outs) -> None:
        if self.rpn_outs is None:
            self.rpn_outs = outs

    # -- the mimic -----------------------------------------------------------
    def _branch(self, items: Sequence, total: int) -> Sequence:
        """The images of the mimicked branch (all when there is one)."""
        if total == self.num_images or total % self.num_images:
            return items
        index = max(int(getattr(self.distiller, 'test_branch_idx', 0)), 0)
        return items[index * self.num_images:(index + 1) * self.num_images]

    def _mimic(self, x: Tuple[Tensor, ...], proposals: InstanceList,
               samples: SampleList) -> None:
        total = x[0].shape[0]
        x = tuple(self._branch(level, total) for level in x)
        rpn_outs = self.rpn_outs
        if isinstance(rpn_outs, (tuple, list)):
            rpn_outs = tuple(
                [self._branch(t, total) for t in out]
                if isinstance(out, (list, tuple)) else out
                for out in rpn_outs)
        distiller = self.distiller
        teacher, teacher_x = distiller.teacher, self.teacher_x
        step = MimicStep(strides=list(distiller.mimic_strides),
                         student_rpn=rpn_outs)
        terms = distiller.mimic_terms
        if teacher_x is None:
            step.teacher_maps = None   # (step.mimic_on is False)
            step.provide('student_maps',
                         lambda: distiller.adapted_student(x))
            self.losses = {}
            for term in terms:
                self.losses.update(check_term_losses(
                    term, term.zero_losses(step), 'zero_losses'))
            return
        step.provide(('student_maps', 'teacher_maps'),
                     lambda: distiller.mimic_pairs(x, teacher_x))
        step.student_rois, step.teacher_rois, step.positives = \
            distiller.mimic_regions(list(self._branch(proposals, total)),
                                    list(self._branch(samples, total)),
                                    self.scale)
        step.provide('teacher_rpn',
                     lambda: no_grad(teacher.rpn_head, teacher_x))
        step.provide('student_rcnn', lambda: bbox_forward(
            distiller.roi_head, x, step.student_rois))
        step.provide('teacher_rcnn', lambda: no_grad(
            bbox_forward, teacher.roi_head, teacher_x, step.teacher_rois))
        self.losses = {}
        for term in terms:
            losses = check_term_losses(term, term.step_loss(step))
            self.losses.update({k: self.weight * v
                                for k, v in losses.items()})

    def merge(self, student_losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The student's losses with the mimic terms' placed before the RoI
        head's (the order MMEngine sums them in).

        Raises:
            RuntimeError: the student's step never called ``roi_head.loss``,
                so there were no proposals to mimic in.
        """
        if self.losses is None:
            raise RuntimeError(
                f'{type(self.distiller).__name__}: the student\'s loss never '
                'called roi_head.loss(x, rpn_results_list, '
                'batch_data_samples), so the mimic had no proposals to tap; '
                'feature mimic needs a two-stage detector whose step does')
        clash = set(self.losses) & set(student_losses)
        if clash:
            raise RuntimeError(f'the student\'s own losses already have the '
                               f'mimic keys {sorted(clash)}')
        merged, placed = {}, False
        for key, value in student_losses.items():
            if not placed and key in self.roi_keys:
                merged.update(self.losses)
                placed = True
            merged[key] = value
        if not placed:
            merged.update(self.losses)
        return merged
