"""Which student level mimics which teacher level, and where their maps meet."""
import math
from typing import List, Sequence, Tuple

import torch.nn as nn
from torch import Tensor


def feature_strides(detector: nn.Module) -> List[float]:
    """Strides of ``extract_feat``'s levels, read from the RPN or RoI extractor."""
    rpn_head = getattr(detector, 'rpn_head', None)
    if rpn_head is not None and hasattr(rpn_head, 'prior_generator'):
        return [float(s[0]) for s in rpn_head.prior_generator.strides]
    roi_head = getattr(detector, 'roi_head', None)
    extractor = getattr(roi_head, 'bbox_roi_extractor', None)
    if extractor is not None and hasattr(extractor, 'featmap_strides'):
        return [float(s) for s in extractor.featmap_strides]
    raise ValueError(
        f'cannot tell the feature strides of {type(detector).__name__}: it has '
        'neither rpn_head.prior_generator nor roi_head.bbox_roi_extractor')


def image_stride(stride: float, input_scale: float = 1.0,
                 upsample: int = 1) -> float:
    """A level's stride in original-image pixels when the network sees the
    image resized by ``input_scale`` and its map is upsampled by ``upsample``
    (the adapter's ``scale_factor``)."""
    return stride / upsample / input_scale


def match_levels(student_strides: Sequence[float],
                 teacher_strides: Sequence[float],
                 pairs: Sequence[Tuple[int, int]] = None,
                 input_scale: float = 1.0,
                 upsample: int = 1) -> Tuple[List[Tuple[int, int]], List[float]]:
    """Pair student and teacher levels and check that each pair has one
    stride in image pixels (the one stride check of mmmimic).

    Args:
        student_strides, teacher_strides: each level's stride on its own input.
        pairs: ``(student_level, teacher_level)``; None pairs all levels in
            order (the counts must agree).
        input_scale: ``model.student_input_scale``.
        upsample: ``model.mimic_adapter.scale_factor``.

    Returns:
        tuple: the pairs and the teacher stride of each.

    Raises:
        ValueError: counts differ, a level is out of range, or a pair's strides
            disagree; each message names the keys to change.
    """
    if pairs is None:
        if len(student_strides) != len(teacher_strides):
            raise ValueError(
                f'the student has {len(student_strides)} feature level(s) '
                f'(strides {list(student_strides)}) and the teacher '
                f'{len(teacher_strides)} (strides {list(teacher_strides)}); set '
                'model.mimic_levels=[(student_level, teacher_level), ...]')
        pairs = list(zip(range(len(student_strides)),
                         range(len(teacher_strides))))
    pairs = [(int(s), int(t)) for s, t in pairs]
    for s, t in pairs:
        if not (0 <= s < len(student_strides)
                and 0 <= t < len(teacher_strides)):
            raise ValueError(
                f'mimic_levels pair ({s}, {t}) is out of range: the student '
                f'has {len(student_strides)} level(s), the teacher '
                f'{len(teacher_strides)}')
        effective = image_stride(student_strides[s], input_scale, upsample)
        if not math.isclose(effective, teacher_strides[t], rel_tol=1e-3):
            raise ValueError(
                f'student level {s} has stride {student_strides[s]:g} on '
                f'its input (x{input_scale:g} of the image), '
                f'{effective:g} in image pixels after an adapter of scale '
                f'{upsample}, but teacher level {t} has stride '
                f'{teacher_strides[t]:g}: the maps cannot be aligned. Set '
                'model.student_input_scale and/or '
                "model.mimic_adapter=dict(type='MimicAdapter', "
                'scale_factor=...) so that they agree.')
    return pairs, [teacher_strides[t] for _, t in pairs]


def align_maps(pairs: Sequence[Tuple[int, int]], student: Sequence[Tensor],
               teacher: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
    """Crop each (student, teacher) pair of maps, (B, C, H, W), to their
    common top-left area (padding differences of up to 2 cells).

    Raises:
        ValueError: channels differ, or sizes differ by more than padding.
    """
    out_s, out_t = [], []
    for (s_lvl, t_lvl), s, t in zip(pairs, student, teacher):
        sh, sw = s.shape[-2:]
        th, tw = t.shape[-2:]
        if s.shape[:2] != t.shape[:2] or abs(sh - th) > 2 or \
                abs(sw - tw) > 2:
            raise ValueError(
                f'student level {s_lvl} gives {tuple(s.shape)} after the '
                f'adapter, teacher level {t_lvl} gives {tuple(t.shape)}. '
                'Channels must match (set model.mimic_adapter=dict('
                "type='MimicAdapter', in_channels=<student channels>, "
                'out_channels=<teacher channels>)) and the maps must have the '
                'same stride (model.student_input_scale, '
                'mimic_adapter.scale_factor).')
        h, w = min(sh, th), min(sw, tw)
        out_s.append(s[..., :h, :w])
        out_t.append(t[..., :h, :w])
    return out_s, out_t
