"""Taps the student's own training step where its RoI head receives the
feature maps and proposals: there the distiller's mimic part runs."""
import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor


class MimicTap:
    """One training step of the student's own ``loss``, tapped.

    While :meth:`attached`, the student's RPN forward outputs are recorded
    (a forward hook; they serve the logit mimic) and its RoI head's ``loss``
    is wrapped: when the student's step calls ``roi_head.loss(x,
    rpn_results_list, batch_data_samples)``, the tap first hands exactly
    those feature maps and proposals (of the mimicked branch) and the RPN's
    outputs to ``mimic(x, proposals, samples, rpn_outs)`` (the distiller's
    :meth:`~.FeatureMimicDistiller.mimic_losses`) and keeps its losses, then
    runs the RoI head's own loss. So the order of work and of random draws
    is the student's own: its RPN, the mimic regions, its RoI head sampling;
    and the proposals are read before the RoI head renames their fields.

    A student whose step runs the images several times through branches
    (TridentNet: the batch repeated once per branch, branch-major) is
    mimicked on the branch it tests with (``test_branch_idx``, else 0).

    Args:
        distiller (nn.Module): The detector whose RPN and RoI head are
            tapped.
        mimic (callable): ``mimic(x, proposals, samples, rpn_outs)`` ->
            ``{name: loss}``, called once, at the RoI head's loss.
        num_images (int): B, the images of the batch.
    """

    def __init__(self, distiller: nn.Module,
                 mimic: Callable[..., Dict[str, Tensor]],
                 num_images: int) -> None:
        self.distiller = distiller
        self.mimic = mimic
        self.num_images = num_images
        self.rpn_outs: Optional[tuple] = None
        #: the mimic losses, once the RoI head's loss was reached
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
            self.losses = self.mimic(*self._mimicked_branch(
                x, rpn_results_list, batch_data_samples))
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

    # -- what the mimic sees -------------------------------------------------
    def _branch(self, items: Sequence, total: int) -> Sequence:
        """The images of the mimicked branch (all when there is one)."""
        if total == self.num_images or total % self.num_images:
            return items
        index = max(int(getattr(self.distiller, 'test_branch_idx', 0)), 0)
        return items[index * self.num_images:(index + 1) * self.num_images]

    def _mimicked_branch(self, x: Tuple[Tensor, ...], proposals: InstanceList,
                         samples: SampleList) -> tuple:
        """``(x, proposals, samples, rpn_outs)`` of the mimicked branch."""
        total = x[0].shape[0]
        rpn_outs = self.rpn_outs
        if isinstance(rpn_outs, (tuple, list)):
            rpn_outs = tuple(
                [self._branch(t, total) for t in out]
                if isinstance(out, (list, tuple)) else out
                for out in rpn_outs)
        return (tuple(self._branch(level, total) for level in x),
                list(self._branch(proposals, total)),
                list(self._branch(samples, total)), rpn_outs)

    def merge(self, student_losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The student's losses with the mimic losses placed before the RoI
        head's, where the student's step computed them.

        MMEngine sums the losses in the dict's order and a float sum depends
        on its order: placing the mimic keys where they were computed
        (between the RPN's and the RoI head's) keeps the total, and so the
        trained weights, the same bit for bit however the tap is wired.

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
