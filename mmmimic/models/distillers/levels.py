"""Which student level mimics which teacher level, and where their maps meet."""
import logging
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
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


def declared_strides(detector: nn.Module) -> List[Tuple[str, List[float]]]:
    """Every stride list the config of ``detector`` states, with its key:
    the RPN's prior generator and the RoI extractor's ``featmap_strides``."""
    found = []
    rpn_head = getattr(detector, 'rpn_head', None)
    if rpn_head is not None and hasattr(rpn_head, 'prior_generator'):
        found.append(('rpn_head.anchor_generator.strides',
                      [float(s[0]) for s in rpn_head.prior_generator.strides]))
    extractor = getattr(getattr(detector, 'roi_head', None),
                        'bbox_roi_extractor', None)
    if extractor is not None and hasattr(extractor, 'featmap_strides'):
        found.append(('roi_head.bbox_roi_extractor.featmap_strides',
                      [float(s) for s in extractor.featmap_strides]))
    return found


class _ExtractFeat(nn.Module):
    """``detector.extract_feat`` as a module's forward (for
    ``torch.func.functional_call``)."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, inputs: Tensor) -> Sequence[Tensor]:
        return self.detector.extract_feat(inputs)


def _dry_features(detector: nn.Module, param: Tensor,
                  size: int) -> Sequence[Tensor]:
    """``extract_feat`` of a zero (1, 3, size, size) image: first on the meta
    device (shapes only, no arithmetic: milliseconds where a ResNet-50 takes
    seconds), else, where an operator has no meta kernel or the model holds
    tensors outside its parameters and buffers, on the model's device."""
    from torch.func import functional_call
    wrapper = _ExtractFeat(detector)
    meta = {name: tensor.to('meta') for name, tensor in
            list(wrapper.named_parameters()) + list(wrapper.named_buffers())}
    try:
        return functional_call(wrapper, meta,
                               (torch.zeros((1, 3, size, size),
                                            device='meta', dtype=param.dtype),
                                ))
    except Exception:   # noqa: BLE001 (any operator's own error type)
        return detector.extract_feat(param.new_zeros((1, 3, size, size)))


def probe_levels(detector: nn.Module, role: str = 'student'
                 ) -> Optional[List[Tuple[int, float]]]:
    """(channels, stride on its input) of each level of ``extract_feat``,
    measured by a dry forward of a zero (1, 3, S, S) image, S eight cells of
    the coarsest declared level (on the meta device where every operator
    allows: :func:`_dry_features`), and checked against every stride the config
    states (:func:`declared_strides`; a level may be up to 2 cells smaller for
    valid padding).

    The forward runs under ``no_grad`` in eval mode; every module's train/eval
    flag and the RNG state (CPU, and the model's GPU) are restored after it,
    so BN running statistics and the randomness seen by training are
    untouched.

    Returns:
        list or None: one (channels, stride) per level; None, with a warning,
        when the detector fails on the dry input.

    Raises:
        ValueError: a measured stride disagrees with a stated one (an RPN
            whose anchors or an extractor whose scale would not match the
            maps, e.g. after ``backbone.out_indices`` changed); names the key
            and the strides to set.
    """
    declared = declared_strides(detector)
    # with no stated stride (learned proposals, a cascade of extractors)
    # the strides are the measured ones alone
    size = max(64, 8 * int(max(max(s) for _, s in declared))) if declared \
        else 512
    param = next(detector.parameters())
    modes = [(m, m.training) for m in detector.modules()]
    devices = [param.device] if param.device.type == 'cuda' else []
    try:
        detector.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            feats = _dry_features(detector, param, size)
    except RuntimeError as e:
        print_log(f'{role} levels not measured: {type(detector).__name__} '
                  f'failed on a {size}x{size} dry input ({e})',
                  logger='current', level=logging.WARNING)
        return None
    finally:
        for module, mode in modes:
            module.training = mode
    heights = [f.shape[-2] for f in feats]
    measured = [2 ** round(math.log2(size / h)) for h in heights]
    for key, strides in declared:
        # the RoI extractor reads the first len(featmap_strides) levels (an
        # FPN's extra RPN-only level has none)
        exact = key.startswith('rpn_head')
        agree = (len(strides) == len(heights) if exact
                 else 0 < len(strides) <= len(heights)) and all(
            abs(h - size / s) <= 2 for h, s in zip(heights, strides))
        if not agree:
            shown = measured if exact else measured[:len(strides)]
            raise ValueError(
                f'the {role} config says {key}={_listed(strides)}, but its '
                f'network gives {len(heights)} level(s) of height {heights} '
                f'on a {size}x{size} input, strides {_listed(measured)}: set '
                f'{key}={_listed(shown)} (did backbone.out_indices or the '
                'neck change?)')
    if not declared:
        return [(f.shape[1], float(s)) for f, s in zip(feats, measured)]
    # the RoI extractor may state fewer levels than there are: the measured
    # stride of the rest (e.g. an FPN's extra RPN level)
    stated = declared[0][1] + [float(s) for s in
                               measured[len(declared[0][1]):]]
    return [(f.shape[1], s) for f, s in zip(feats, stated)]


def _listed(values: Sequence[float]) -> str:
    return '[' + ', '.join(f'{v:g}' for v in values) + ']'


def level_strides(detector: nn.Module, levels: Optional[List[Tuple[int, float]]]
                  ) -> List[float]:
    """The strides of ``levels`` (measured), else the ones the config
    states (when the dry forward could not run)."""
    if levels is not None:
        return [s for _, s in levels]
    return feature_strides(detector)


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
