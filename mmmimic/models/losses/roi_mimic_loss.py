from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.ops import RoIAlign
from torch import Tensor

from mmmimic.registry import MODELS

from .mimic_step import BaseMimicLoss, MimicStep, zero_through

Feats = Union[Tensor, Sequence[Tensor]]
Strides = Union[int, float, Sequence[Union[int, float]]]

MODES = ('pixel', 'roi_align', 'spp', 'global')
LEVEL_ASSIGNS = ('scale', 'all')


def roi_pixel_boxes(rois: Tensor, stride: float, height: int,
                    width: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The feature cells a RoI covers at ``stride``, clipped to the map.

    A cell (i, j) covers image pixels ``[j*s, (j+1)*s) x [i*s, (i+1)*s)``; a RoI
    ``[x1, y1, x2, y2]`` covers columns ``floor(x1/s) <= j < ceil(x2/s)`` and rows
    ``floor(y1/s) <= i < ceil(y2/s)``, at least one of each.

    Args:
        rois (Tensor): (N, 5) ``[batch_idx, x1, y1, x2, y2]`` in image pixels.

    Returns:
        tuple[Tensor]: ``i0, i1, j0, j1`` (N,) long, half-open ranges.
    """
    j0 = torch.floor(rois[:, 1] / stride).long().clamp(0, width - 1)
    i0 = torch.floor(rois[:, 2] / stride).long().clamp(0, height - 1)
    j1 = torch.ceil(rois[:, 3] / stride).long().clamp(max=width)
    i1 = torch.ceil(rois[:, 4] / stride).long().clamp(max=height)
    j1 = torch.maximum(j1, j0 + 1)
    i1 = torch.maximum(i1, i0 + 1)
    return i0, i1, j0, j1


def at_least_fp32(x: Tensor) -> Tensor:
    """fp16/bf16 -> fp32 (squared errors of large maps overflow fp16); fp32/64 kept."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def summed_area_table(x: Tensor) -> Tensor:
    """(..., H, W) -> (..., H+1, W+1) in float64, zero first row and column."""
    sat = x.double().cumsum(-2).cumsum(-1)
    return nn.functional.pad(sat, (1, 0, 1, 0))


def box_sums(sat: Tensor, batch_idx: Tensor, i0: Tensor, i1: Tensor, j0: Tensor,
             j1: Tensor) -> Tensor:
    """Sums of boxes ``[i0, i1) x [j0, j1)`` from a summed-area table.

    Args:
        sat (Tensor): (B, H+1, W+1) or (B, C, H+1, W+1).
        batch_idx, i0, i1, j0, j1 (Tensor): (N, ...) long, broadcastable.

    Returns:
        Tensor: (N, ...) or (N, C, ...) when ``sat`` has channels.
    """
    if sat.dim() == 3:
        return (sat[batch_idx, i1, j1] - sat[batch_idx, i0, j1] -
                sat[batch_idx, i1, j0] + sat[batch_idx, i0, j0])
    # (B, C, H+1, W+1): gather per RoI, channels last then moved to dim 1
    sat = sat.permute(0, 2, 3, 1)
    sums = (sat[batch_idx, i1, j1] - sat[batch_idx, i0, j1] -
            sat[batch_idx, i1, j0] + sat[batch_idx, i0, j0])
    return sums.movedim(-1, 1)


@MODELS.register_module()
class RoIMimicLoss(BaseMimicLoss):
    r"""Feature mimic loss inside regions (Li, Jin & Yan, CVPR 2017).

    .. math::
        L_m = \frac{1}{2N} \sum_i w_i \lVert u_i - v_i \rVert^2,\quad
        w_i = \frac{1}{m_i} \text{ if normalize else } 1

    with :math:`u_i`, :math:`v_i` the teacher's and the (adapted) student's
    features of region i and :math:`m_i` their number of elements.

    Args:
        mode (str): How a region's features are compared.
            ``'pixel'``: every feature cell the RoI covers (exact; summed-area
            table, no loop over RoIs). ``'roi_align'``: both maps RoIAligned to
            ``roi_size`` x ``roi_size``. ``'spp'``: spatial pyramid pooling of the
            RoI's cells with ``spp_levels`` bins per side. ``'global'``: the whole
            map of each image (the ablation; ``rois`` is ignored).
        normalize (bool): Divide each region's squared error by its number of
            elements (cells x channels). Defaults to True.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        level_assign (str): With several levels, ``'scale'`` sends each RoI to
            one level by the FPN rule (``finest_scale``), ``'all'`` uses every
            level and averages over levels.
        finest_scale (int): RoIs of scale below this go to level 0 (``'scale'``).
        roi_size (int): Output size of ``'roi_align'``.
        sampling_ratio (int): RoIAlign sampling points per bin (0: adaptive).
        spp_levels (sequence[int]): Pyramid levels of ``'spp'``.
        spp_pool (str): ``'avg'`` (exact bin means over the RoI's cells) or
            ``'max'`` (RoIAlign in max mode).
    """

    def __init__(self,
                 mode: str = 'pixel',
                 normalize: bool = True,
                 loss_weight: float = 1.0,
                 level_assign: str = 'scale',
                 finest_scale: int = 56,
                 roi_size: int = 7,
                 sampling_ratio: int = 0,
                 spp_levels: Sequence[int] = (1, 2, 4),
                 spp_pool: str = 'avg') -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'RoIMimicLoss mode={mode!r}: choose one of {MODES}')
        if level_assign not in LEVEL_ASSIGNS:
            raise ValueError(f'RoIMimicLoss level_assign={level_assign!r}: '
                             f'choose one of {LEVEL_ASSIGNS}')
        if spp_pool not in ('avg', 'max'):
            raise ValueError(f"RoIMimicLoss spp_pool={spp_pool!r}: 'avg' or 'max'")
        if not spp_levels or any(int(n) < 1 for n in spp_levels):
            raise ValueError(f'RoIMimicLoss spp_levels={spp_levels!r}: positive '
                             'bin counts per side, e.g. (1, 2, 4)')
        self.mode = mode
        self.normalize = normalize
        self.loss_weight = loss_weight
        self.level_assign = level_assign
        self.finest_scale = finest_scale
        self.roi_size = roi_size
        self.sampling_ratio = sampling_ratio
        self.spp_levels = tuple(int(n) for n in spp_levels)
        self.spp_pool = spp_pool

    def forward(self, student_feats: Feats, teacher_feats: Feats, rois: Tensor,
                strides: Strides) -> Tensor:
        """Mimic loss.

        Args:
            student_feats (Tensor | sequence[Tensor]): (B, C, H, W) per level,
                already transformed to the teacher's shape.
            teacher_feats (Tensor | sequence[Tensor]): same shapes.
            rois (Tensor): (N, 5) ``[batch_idx, x1, y1, x2, y2]`` in the
                input-image pixels both maps are strided from.
            strides (int | sequence[int]): stride of each level.

        Returns:
            Tensor: scalar loss, times ``loss_weight``.
        """
        student, teacher, strides = self._check_inputs(student_feats,
                                                       teacher_feats, strides)
        # fp16/bf16 features (AMP) give an fp32 loss; accumulation is in fp64
        out_dtype = at_least_fp32(student[0]).dtype
        if self.mode == 'global':
            per_level = [self._global(s, t) for s, t in zip(student, teacher)]
            return self.loss_weight * torch.stack(per_level).mean().to(
                out_dtype)
        num_rois = rois.size(0)
        if num_rois == 0:
            # zero, with a gradient path into the student
            return sum(s.sum() for s in student).to(out_dtype) * 0.0
        rois = rois.detach().to(out_dtype)
        if len(student) == 1 or self.level_assign == 'all':
            groups = [(lvl, rois) for lvl in range(len(student))]
        else:
            levels = self._map_roi_levels(rois, len(student))
            groups = [(lvl, rois[levels == lvl]) for lvl in range(len(student))]
        total = student[0].new_zeros((), dtype=torch.float64)
        for lvl, level_rois in groups:
            if level_rois.size(0) == 0:
                continue
            total = total + self._region_error(student[lvl], teacher[lvl],
                                               level_rois, strides[lvl]).sum()
        loss = total / (2 * num_rois)
        if self.level_assign == 'all':
            loss = loss / len(student)
        return self.loss_weight * loss.to(out_dtype)

    loss_names = ('loss_mimic', )

    def weights(self) -> dict:
        return dict(loss_weight=self.loss_weight)

    def step_loss(self, step: MimicStep) -> dict:
        """``loss_mimic``: the adapted student levels against the teacher's,
        in the mimic regions given in the teacher's pixels."""
        return dict(loss_mimic=self(step.student_maps, step.teacher_maps,
                                    step.teacher_rois, step.strides))

    def zero_losses(self, step: MimicStep) -> dict:
        """Zero, with the adapter in the graph (zero gradients, so DDP finds
        every parameter used)."""
        return dict(loss_mimic=zero_through(step.student_maps))

    # ----------------------------------------------------------------------------
    def _check_inputs(self, student_feats: Feats, teacher_feats: Feats,
                      strides: Strides) -> Tuple[List[Tensor], List[Tensor],
                                                 List[float]]:
        student = [student_feats] if isinstance(student_feats, Tensor) \
            else list(student_feats)
        teacher = [teacher_feats] if isinstance(teacher_feats, Tensor) \
            else list(teacher_feats)
        strides = [strides] if isinstance(strides, (int, float)) \
            else list(strides)
        if not (len(student) == len(teacher) == len(strides)):
            raise ValueError(
                f'RoIMimicLoss got {len(student)} student level(s), '
                f'{len(teacher)} teacher level(s) and {len(strides)} stride(s); '
                'they must correspond one to one')
        for lvl, (s, t) in enumerate(zip(student, teacher)):
            if s.shape != t.shape:
                raise ValueError(
                    f'RoIMimicLoss level {lvl}: student feature {tuple(s.shape)} '
                    f'and teacher feature {tuple(t.shape)} differ; transform the '
                    'student to the teacher shape first (mimic_adapter)')
        return student, teacher, [float(s) for s in strides]

    def _map_roi_levels(self, rois: Tensor, num_levels: int) -> Tensor:
        """FPN level of each RoI: floor(log2(sqrt(wh) / finest_scale)) clipped."""
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]).clamp(min=0) *
                           (rois[:, 4] - rois[:, 2]).clamp(min=0))
        levels = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        return levels.clamp(min=0, max=num_levels - 1).long()

    def _region_error(self, student: Tensor, teacher: Tensor, rois: Tensor,
                      stride: float) -> Tensor:
        """Per-RoI (weighted) squared error, (N,) float64."""
        channels = student.size(1)
        if self.mode == 'pixel':
            err = (at_least_fp32(student) - at_least_fp32(teacher)).pow(2).sum(1)
            height, width = err.shape[-2:]
            i0, i1, j0, j1 = roi_pixel_boxes(rois, stride, height, width)
            sums = box_sums(summed_area_table(err), rois[:, 0].long(), i0, i1,
                            j0, j1)
            numel = channels * (i1 - i0) * (j1 - j0)
        elif self.mode == 'roi_align':
            align = RoIAlign(self.roi_size, 1.0 / stride, self.sampling_ratio,
                             aligned=True)
            diff = align(at_least_fp32(student), rois) - align(
                at_least_fp32(teacher), rois)
            sums = diff.double().pow(2).flatten(1).sum(dim=1)
            numel = torch.full_like(sums, channels * self.roi_size**2)
        else:  # spp
            diff = self._spp(student, rois, stride) - self._spp(
                teacher, rois, stride)
            sums = diff.pow(2).flatten(1).sum(dim=1)
            numel = torch.full_like(sums, diff[0].numel())
        if self.normalize:
            sums = sums / numel.double()
        return sums

    def _spp(self, feat: Tensor, rois: Tensor, stride: float) -> Tensor:
        """(N, C, sum(n*n)) pyramid-pooled region features, float64."""
        if self.spp_pool == 'max':
            pooled = [
                RoIAlign(n, 1.0 / stride, 2, pool_mode='max', aligned=True)(
                    at_least_fp32(feat), rois).flatten(2)
                for n in self.spp_levels
            ]
            return torch.cat(pooled, dim=2).double()
        height, width = feat.shape[-2:]
        i0, i1, j0, j1 = roi_pixel_boxes(rois, stride, height, width)
        sat = summed_area_table(feat)
        batch_idx = rois[:, 0].long()
        pooled = []
        for n in self.spp_levels:
            # bin k of n spans [start + floor(k*len/n), start + ceil((k+1)*len/n))
            k = torch.arange(n, device=feat.device)
            h, w = (i1 - i0)[:, None], (j1 - j0)[:, None]
            r0 = i0[:, None] + torch.div(k * h, n, rounding_mode='floor')
            r1 = i0[:, None] + torch.div((k + 1) * h + n - 1, n,
                                         rounding_mode='floor')
            c0 = j0[:, None] + torch.div(k * w, n, rounding_mode='floor')
            c1 = j0[:, None] + torch.div((k + 1) * w + n - 1, n,
                                         rounding_mode='floor')
            # (N, n, n) bins: rows from r*, columns from c*
            r0, r1 = r0[:, :, None].expand(-1, n, n), r1[:, :, None].expand(
                -1, n, n)
            c0, c1 = c0[:, None, :].expand(-1, n, n), c1[:, None, :].expand(
                -1, n, n)
            sums = box_sums(sat, batch_idx[:, None, None], r0, r1, c0, c1)
            area = ((r1 - r0) * (c1 - c0)).double()
            pooled.append((sums / area[:, None]).flatten(2))
        return torch.cat(pooled, dim=2)

    def _global(self, student: Tensor, teacher: Tensor) -> Tensor:
        """Each image's whole map as one region: (1/2B) sum_b w_b ||u_b - v_b||^2."""
        err = (at_least_fp32(student) - at_least_fp32(teacher)).double().pow(
            2).flatten(1).sum(1)
        if self.normalize:
            err = err / student[0].numel()
        return err.sum() / (2 * student.size(0))

    def extra_repr(self) -> str:
        return (f'mode={self.mode}, normalize={self.normalize}, '
                f'loss_weight={self.loss_weight}, '
                f'level_assign={self.level_assign}')

