"""Checks of a distiller's mimic settings, run once at build time, before
any teacher checkpoint is read or any iteration is spent."""
import math
import numbers
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn

from .levels import probe_levels

LEVELS_FORM = ('model.mimic_levels must be a list of (student_level, '
               'teacher_level) int pairs, e.g. [(0, 0)] or [(0, 0), (1, 1)], '
               'or None for all levels pairwise')


def check_weights(terms: Dict[str, nn.Module]) -> None:
    """Every weight of every term (``{config key: term}``) is a finite number
    >= 0, and not all are 0.

    Raises:
        ValueError: naming ``model.<key>.<weight>`` and its value.
    """
    weights = {f'model.{key}.{name}': value
               for key, term in terms.items()
               for name, value in term.weights().items()}
    for key, value in weights.items():
        if not (isinstance(value, numbers.Real) and value >= 0
                and math.isfinite(value)):
            raise ValueError(
                f'{key}={value!r}: a mimic weight must be a finite number '
                '>= 0 (a negative one pushes the student away from the '
                'teacher)')
    if weights and not any(weights.values()):
        raise ValueError(
            f'every mimic weight is 0 ({", ".join(weights)}): nothing is '
            'mimicked; train the student config alone instead')


def parse_mimic_levels(value: Any) -> Optional[List[Tuple[int, int]]]:
    """``model.mimic_levels`` as int pairs (None stays None).

    Raises:
        ValueError: anything but a non-empty sequence of int pairs.
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(
            value, Sequence) or not value:
        raise ValueError(f'{LEVELS_FORM}; got {value!r}')
    for pair in value:
        if isinstance(pair, (str, bytes)) or not isinstance(
                pair, Sequence) or len(pair) != 2 or not all(
                    isinstance(v, numbers.Integral)
                    and not isinstance(v, bool) for v in pair):
            raise ValueError(f'{LEVELS_FORM}; got {value!r} (entry {pair!r})')
    return [(int(s), int(t)) for s, t in value]


def check_adapter_channels(student: nn.Module, adapter: Optional[nn.Module],
                           mimic_levels: Optional[List[Tuple[int, int]]],
                           levels: Optional[List[Tuple[int, float]]] = None
                           ) -> None:
    """``adapter.in_channels`` (one entry per mimicked level) against the
    channels of the student's levels, ``levels`` as :func:`probe_levels`
    measures them (measured here when not given).

    Raises:
        ValueError: a count or a channel number differs; says what to set.
    """
    in_channels = getattr(adapter, 'in_channels', None)
    if in_channels is None:
        return
    in_channels = [in_channels] if isinstance(in_channels, int) \
        else list(in_channels)
    if mimic_levels is not None and len(in_channels) != len(mimic_levels):
        raise ValueError(
            f'model.mimic_adapter.in_channels={in_channels} has '
            f'{len(in_channels)} entr(y/ies) but model.mimic_levels='
            f'{mimic_levels} {len(mimic_levels)} pair(s); give one per '
            'mimicked level')
    if levels is None:
        levels = probe_levels(student, 'student')
    if levels is None:
        return
    chosen = [s for s, _ in mimic_levels] if mimic_levels is not None \
        else range(len(levels))
    found = [levels[s][0] for s in chosen if 0 <= s < len(levels)]
    if len(found) == len(in_channels) and found != in_channels:
        raise ValueError(
            f'model.mimic_adapter.in_channels={in_channels}, but the '
            f'student gives {found} channel(s) on the mimicked level(s) '
            f'{list(chosen)}: set in_channels={found}')


def check_student_proposals(student: nn.Module) -> None:
    """The student's RPN proposes regions from the image, which the mimic
    samples from (by score, and by overlap with the ground truth).

    Raises:
        ValueError: learned proposals (Sparse R-CNN, QueryInst: an
            ``EmbeddingRPNHead``), naming why and what to use instead.
    """
    from mmdet.models.dense_heads import EmbeddingRPNHead
    head = getattr(student, 'rpn_head', None)
    if isinstance(head, EmbeddingRPNHead):
        name = getattr(student, 'student_class', type(student)).__name__
        raise ValueError(
            f'{name} cannot be the mimic student: its proposals are learned '
            f'boxes ({type(head).__name__}), the same for every image, not '
            'regions proposed from the image, which feature mimic samples by '
            'score and by overlap with the ground truth. Use a detector with '
            'an RPN (Faster, Mask, Cascade R-CNN...) as the student')
