"""What one training step of a distiller offers its mimic terms, and how a
term is built from a distiller's config slot."""
import logging
import warnings
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmmimic.registry import MODELS, build_in_mmmimic


class MimicStep:
    """The tensors of one training step that a mimic term may compare.

    A term reads the attributes it needs; nothing else of the distiller is
    reachable, so a term is a function of these tensors and can be tested
    with tensors alone (``MimicStep(student_maps=[...], ...)``). In training
    the distiller computes the costly ones (the adapter, the RoI heads, the
    teacher's RPN) only when a term first reads them.

    Attributes:
        student_maps (list[Tensor]): The mimicked student levels after the
            adapter, one per ``mimic_levels`` pair, each (B, C_t, H, W),
            cropped to the teacher's map while mimic is on.
        teacher_maps (list[Tensor] | None): The teacher's levels of the same
            pairs, each (B, C_t, H, W), without gradients; None while the
            schedule has switched mimic off (the teacher is not run).
        strides (list[float]): Each pair's stride in the teacher's (the
            batch's) pixels.
        student_rois (Tensor): (n, 5) mimic regions ``[batch_idx, x1, y1,
            x2, y2]`` in the student's input pixels.
        teacher_rois (Tensor): (n, 5) the same regions in the teacher's
            input pixels (the batch's).
        positives (Tensor): (n, ) bool, regions matched to a ground-truth
            box.
        student_rpn (tuple): The student's raw RPN outputs of this step
            (``cls_scores``, ``bbox_preds``: lists of (B, A * c, H, W)).
        teacher_rpn (tuple): The teacher's RPN outputs on its own levels, the
            same shapes, without gradients.
        student_rcnn (dict): The student's RoI head on ``student_rois``:
            ``cls_score`` (n, K + 1), ``bbox_pred`` (n, 4 or 4K).
        teacher_rcnn (dict): The teacher's RoI head on ``teacher_rois``, the
            same keys, without gradients.

    Reading an attribute the step was not given raises ``AttributeError``
    naming it (e.g. the regions while mimic is off).
    """
    FIELDS = ('student_maps', 'teacher_maps', 'strides', 'student_rois',
              'teacher_rois', 'positives', 'student_rpn', 'teacher_rpn',
              'student_rcnn', 'teacher_rcnn')

    def __init__(self, **values) -> None:
        unknown = sorted(set(values) - set(self.FIELDS))
        if unknown:
            raise TypeError(f'MimicStep has no field(s) {unknown}; its '
                            f'fields: {list(self.FIELDS)}')
        self._providers: Dict[Tuple[str, ...], Callable] = {}
        self.__dict__.update(values)

    def provide(self, names: Union[str, Iterable[str]],
                compute: Callable[[], object]) -> None:
        """Compute ``names`` with ``compute()`` when a term first reads one
        of them (several names: ``compute`` returns one value per name)."""
        names = (names, ) if isinstance(names, str) else tuple(names)
        unknown = sorted(set(names) - set(self.FIELDS))
        if unknown:
            raise TypeError(f'MimicStep has no field(s) {unknown}')
        self._providers[names] = compute

    def __getattr__(self, name: str):
        # only called for attributes not set yet
        providers = self.__dict__.get('_providers', {})
        for names, compute in list(providers.items()):
            if name in names:
                del providers[names]
                values = compute()
                if len(names) == 1:
                    values = (values, )
                self.__dict__.update(zip(names, values))
                return self.__dict__[name]
        if name in self.FIELDS:
            raise AttributeError(
                f'this MimicStep has no {name} (the distiller did not give '
                'it: while mimic is off, only student_maps, strides and '
                'student_rpn are given)')
        raise AttributeError(name)

    @property
    def mimic_on(self) -> bool:
        """Whether the teacher ran (the schedule's mimic weight is > 0)."""
        return self.teacher_maps is not None


class BaseMimicLoss(nn.Module):
    """One mimic term of a distiller's training step.

    A term is an ``nn.Module`` whose ``forward`` compares tensors (documented
    with their shapes in each subclass); :meth:`step_loss` takes what it needs
    from a :class:`MimicStep` and returns its ``loss_names`` entries, and
    :meth:`zero_losses` gives the same keys at zero for iterations where the
    schedule has turned mimic off (so that the logs keep their columns and DDP
    sees the same parameters used).

    Subclasses set ``loss_names`` and implement :meth:`step_loss`; register
    them in ``mmmimic.registry.MODELS`` and name them in any of the
    distiller's term slots (``mimic_loss=dict(type=...)``).

    The contract, checked by the distiller (:func:`check_term_losses`): each
    name in ``loss_names`` has ``loss`` in it (MMEngine sums only such keys
    into the loss it back-propagates; the rest it only logs), and every step
    returns exactly those keys, each a finite scalar tensor. The distiller
    multiplies every key a term returns by the schedule's factor, whatever its
    name.
    """
    loss_names: Tuple[str, ...] = ()

    def weights(self) -> dict:
        """The term's weights by config key (each must be finite and >= 0)."""
        return {}

    def check(self, student: nn.Module, teacher: nn.Module) -> None:
        """Refuse a student/teacher pair the term cannot compare, at build
        time (default: accept)."""

    def step_loss(self, step: MimicStep) -> Dict[str, Tensor]:
        """``{name: scalar Tensor}`` for every name in ``loss_names``."""
        raise NotImplementedError

    def zero_losses(self, step: MimicStep) -> Dict[str, Tensor]:
        """The same keys as :meth:`step_loss`, at zero, computed from
        ``step.student_maps`` (:func:`zero_through`): the adapter stays in the
        graph with zero gradients, so DDP without ``find_unused_parameters``
        finds every parameter used while the schedule has mimic off. A term
        with parameters of its own that ``student_maps`` does not reach
        overrides this and passes them through :func:`zero_through` too."""
        zero = zero_through(step.student_maps)
        return {name: zero for name in self.loss_names}


def zero_through(tensors: Iterable[Tensor]) -> Tensor:
    """A scalar 0 computed from ``tensors`` (any shapes), so that what made
    them stays in the graph with zero gradients: DDP then finds every
    parameter used. Use it in :meth:`BaseMimicLoss.zero_losses`."""
    return sum(t.sum() for t in tensors) * 0.0


def check_loss_names(term: BaseMimicLoss, slot: str) -> None:
    """Refuse a term whose ``loss_names`` MMEngine would not train on."""
    names = term.loss_names
    name = type(term).__name__
    if isinstance(names, str) or not names or not all(
            isinstance(n, str) for n in names):
        raise TypeError(f'model.{slot}: {name}.loss_names={names!r}; give a '
                        "tuple of key names, e.g. ('loss_mimic_cos', )")
    bad = [n for n in names if 'loss' not in n]
    if bad:
        raise ValueError(
            f'model.{slot}: {name}.loss_names has {bad} without "loss" in the '
            'name: MMEngine would log it and never train on it; name it e.g. '
            f"'loss_mimic_{bad[0]}'")


def check_term_losses(term: BaseMimicLoss, losses: Dict[str, Tensor],
                      method: str = 'step_loss') -> Dict[str, Tensor]:
    """``losses`` as ``term.<method>`` returned them, if they are exactly its
    ``loss_names``, each a finite scalar tensor; else one line naming the term
    and the key."""
    name = f'{type(term).__name__}.{method}'
    if not isinstance(losses, dict):
        raise TypeError(f'{name} returned {type(losses).__name__}; it returns '
                        f'{{name: scalar tensor}} for {list(term.loss_names)}')
    extra = sorted(set(losses) - set(term.loss_names))
    missing = [n for n in term.loss_names if n not in losses]
    if extra or missing:
        raise KeyError(
            f'{name} returned keys {sorted(losses)}, its loss_names are '
            f'{list(term.loss_names)}' + (f'; not declared: {extra}'
                                          if extra else '') +
            (f'; missing: {missing}' if missing else ''))
    for key, value in losses.items():
        if not isinstance(value, Tensor) or value.dim() != 0:
            shape = tuple(value.shape) if isinstance(value, Tensor) else \
                type(value).__name__
            raise ValueError(f'{name}: {key} is {shape}, not a scalar tensor '
                             '(reduce it, e.g. .mean())')
    if losses and not bool(torch.isfinite(torch.stack(
            [v.detach().float() for v in losses.values()])).all()):
        bad = {k: v.item() for k, v in losses.items()
               if not torch.isfinite(v)}
        raise FloatingPointError(
            f'{name}: not finite: {bad}; '
            'check the term\'s inputs and weights (a lower weight or '
            'normalisation)')
    return losses


#: the term each slot held before every slot took ``dict(type=...)``
#: (stage2_mimic / logit_mimic were their term's arguments alone)
LEGACY_TERM_TYPES = dict(stage2_mimic='Stage2MimicLoss',
                         logit_mimic='LogitMimicLoss')


def build_mimic_term(slot: str, cfg: Optional[dict]
                     ) -> Optional[BaseMimicLoss]:
    """The mimic term of ``model.<slot>`` (None when unset).

    ``cfg`` is ``dict(type=..., ...)`` naming a registered
    :class:`BaseMimicLoss`. For one release, ``stage2_mimic`` and
    ``logit_mimic`` without ``type`` still mean their former term, with a
    :class:`DeprecationWarning`.
    """
    if cfg is None:
        return None
    cfg = dict(cfg)
    if 'type' not in cfg:
        if slot not in LEGACY_TERM_TYPES:
            raise ValueError(
                f'model.{slot}={cfg!r} has no type: give the term, e.g. '
                f"{slot}=dict(type='RoIMimicLoss', ...)")
        cfg['type'] = LEGACY_TERM_TYPES[slot]
        message = (f'model.{slot} without a type is deprecated and will stop '
                   f"working in the next release: write {slot}=dict(type="
                   f"'{cfg['type']}', ...)")
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        print_log(message, logger='current', level=logging.WARNING)
    term = build_in_mmmimic(MODELS, cfg)
    if not isinstance(term, BaseMimicLoss):
        raise TypeError(
            f'model.{slot}: {type(term).__name__} is not a mimic term (a '
            'subclass of mmmimic.models.losses.BaseMimicLoss)')
    check_loss_names(term, slot)
    return term


__all__ = ['MimicStep', 'BaseMimicLoss', 'zero_through', 'build_mimic_term',
           'check_loss_names', 'check_term_losses']
