import copy
import logging
import math
import numbers
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.detectors import TwoStageDetector
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub, print_log
from torch import Tensor

from mmmimic.registry import MODELS, SCOPE, TASK_UTILS

from ..data_preprocessors.scaled_det_data_preprocessor import (
    rescale_boxes,
    scale_batch,
)
from .teacher import TeacherConfig, build_teacher, load_teacher_checkpoint


def build_in_mmmimic(registry, cfg: dict) -> Any:
    """Build from mmmimic's registry whatever the current default scope."""
    cfg = copy.deepcopy(cfg)
    cfg.setdefault('_scope_', SCOPE)
    return registry.build(cfg)


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


@MODELS.register_module()
class FeatureMimicDistiller(TwoStageDetector):
    """A two-stage student that mimics a frozen teacher's features in regions.

    Li, Jin & Yan, *Mimicking Very Efficient Network for Object Detection*,
    CVPR 2017. The detector's own ``backbone``/``neck``/``rpn_head``/
    ``roi_head`` are the student; at test time this model *is* the student
    (``predict``/``_forward`` are the student's). One training step:

    1. student features of the batch (resized by ``student_input_scale``);
    2. teacher features of the full batch, without gradients;
    3. student RPN losses and proposals;
    4. mimic regions from those proposals (``mimic_sampler``);
    5. ``mimic_adapter`` (the transform r) on the student features, then
       ``mimic_loss`` against the teacher's, RoIs in each network's coordinates;
    6. the student's RoI head losses; with ``stage2_mimic`` also the teacher's
       RoI head outputs on the mimic regions as soft targets;
    7. student losses plus ``loss_mimic*`` entries.

    The teacher is not a registered submodule: it is absent from
    ``state_dict()``, ``parameters()``, the optimizer and ``init_weights()``,
    stays in eval mode, and follows ``.to()``/``.cuda()``/``.cpu()``.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg,
            data_preprocessor, init_cfg: the student, as for
            :class:`mmdet.models.TwoStageDetector`.
        teacher_config (str | dict): Teacher config file, ``mmdet::`` path, a
            whole config dict with ``model`` or a model dict. It is built in its
            own ``default_scope``.
        teacher_ckpt (str, optional): Teacher checkpoint path or URL, read
            when training starts (:meth:`load_teacher_weights`), not at build
            time: testing needs only the teacher's config.
        mimic_loss (dict, optional): Feature mimic loss
            (:class:`RoIMimicLoss`); None trains without feature mimic (the
            logit-mimic or two-stage-only baselines).
        mimic_sampler (dict): Region sampler (:class:`MimicRegionSampler`).
        mimic_adapter (dict, optional): The transform r applied to the mimicked
            student levels before the loss, e.g. :class:`DeconvNeck`; trained
            with the student, dropped at export.
        mimic_levels (sequence[tuple[int, int]], optional): ``(student_level,
            teacher_level)`` pairs to mimic; default: all levels, pairwise.
        student_input_scale (float): The student sees the batch resized by
            this factor (training and test); predictions are returned in the
            original image coordinates.
        stage2_mimic (dict, optional): Second-stage mimic on the mimic regions:
            ``cls_weight`` (1.0), ``reg_weight`` (1.0), ``cls_loss`` (``'kl'``
            with ``temperature`` or ``'l2'`` on logits); regression is an L2 on
            positive regions.
        logit_mimic (dict, optional): Hinton-style baseline: L2 between the
            student's and the teacher's RPN outputs, ``cls_weight``,
            ``reg_weight``. Needs identical RPN output shapes.
        mimic_warmup_iters (int): Mimic losses ramp up linearly over these
            iterations.
        mimic_fade_iters (tuple[int, int], optional): ``(begin, end)``: mimic
            losses fall linearly from full weight at iteration ``begin`` to
            zero at ``end`` and stay off after it, when the teacher is not run
            at all; the student's heads then finish training on the ground
            truth alone. None keeps them on throughout.
    """

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: ConfigType,
                 test_cfg: ConfigType,
                 teacher_config: TeacherConfig,
                 teacher_ckpt: Optional[str] = None,
                 neck: OptConfigType = None,
                 mimic_loss: ConfigType = dict(type='RoIMimicLoss'),
                 mimic_sampler: ConfigType = dict(type='MimicRegionSampler'),
                 mimic_adapter: OptConfigType = None,
                 mimic_levels: Optional[Sequence[Tuple[int, int]]] = None,
                 student_input_scale: float = 1.0,
                 stage2_mimic: OptConfigType = None,
                 logit_mimic: OptConfigType = None,
                 mimic_warmup_iters: int = 0,
                 mimic_fade_iters: Optional[Sequence[int]] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            rpn_head=rpn_head,
            roi_head=roi_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not student_input_scale > 0:
            raise ValueError(
                f'student_input_scale={student_input_scale}: must be > 0')
        self.student_input_scale = float(student_input_scale)
        self.mimic_warmup_iters = int(mimic_warmup_iters)
        self.mimic_fade_iters = self._check_fade(mimic_fade_iters)
        self.mimic_loss = build_in_mmmimic(MODELS, mimic_loss) \
            if mimic_loss is not None else None
        if self.mimic_loss is None and stage2_mimic is None and \
                logit_mimic is None:
            raise ValueError(
                'FeatureMimicDistiller: mimic_loss=None and neither '
                'stage2_mimic nor logit_mimic is set, so nothing is mimicked; '
                'train the student config alone instead')
        self.mimic_sampler = build_in_mmmimic(TASK_UTILS, mimic_sampler)
        self.mimic_adapter = build_in_mmmimic(MODELS, mimic_adapter) \
            if mimic_adapter is not None else None
        self.stage2_mimic = self._check_stage2(stage2_mimic)
        self.logit_mimic = dict(dict(cls_weight=1.0, reg_weight=1.0),
                                **logit_mimic) \
            if logit_mimic is not None else None
        mimic_levels = self._check_config(mimic_levels)

        teacher = build_teacher(teacher_config)
        teacher.requires_grad_(False)
        teacher.eval()
        # a plain attribute, so that nn.Module does not register it
        object.__setattr__(self, 'teacher', teacher)
        self.teacher_ckpt = teacher_ckpt
        # its weights come with the first training use (load_teacher_weights):
        # testing and inference need no teacher checkpoint
        self._teacher_loaded = False
        self._same_preprocessing = self._same_normalisation()
        print_log(f'FeatureMimicDistiller: teacher {type(teacher).__name__}, '
                  f'frozen; its weights are read from {teacher_ckpt} when '
                  'training starts', logger='current')
        self.mimic_levels, self.mimic_strides = self._match_levels(mimic_levels)
        if self.stage2_mimic is not None and not hasattr(
                getattr(self.teacher, 'roi_head', None), '_bbox_forward'):
            raise ValueError(
                'stage2_mimic needs a teacher with an mmdet RoI head '
                f'(roi_head._bbox_forward); {type(self.teacher).__name__} has '
                'none. Remove stage2_mimic or use a two-stage teacher.')

    # -- configuration checks -------------------------------------------------
    def _check_config(self, mimic_levels: Any
                      ) -> Optional[List[Tuple[int, int]]]:
        """Checks of the mimic settings, once at build time, before the
        teacher is loaded.

        - every mimic weight is a finite number >= 0, and not all are 0;
        - ``mimic_levels`` is None or a non-empty sequence of
          ``(student_level, teacher_level)`` int pairs;
        - ``mimic_adapter.in_channels`` (one entry per mimicked level) equals
          the channels of the student's levels, found by a dry forward of a
          tiny zero input under ``no_grad`` in eval mode, with every module's
          train/eval flag and the RNG state (CPU, and the model's GPU)
          restored after it: BN running statistics and the randomness seen
          by training are untouched.

        Returns:
            list[tuple[int, int]] | None: ``mimic_levels`` as int pairs.
        """
        weights = {}
        if self.mimic_loss is not None:
            weights['model.mimic_loss.loss_weight'] = getattr(
                self.mimic_loss, 'loss_weight', 1.0)
        for key, cfg in (('stage2_mimic', self.stage2_mimic),
                         ('logit_mimic', self.logit_mimic)):
            if cfg is not None:
                for name in ('cls_weight', 'reg_weight'):
                    weights[f'model.{key}.{name}'] = cfg[name]
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

        if mimic_levels is not None:
            form = ('model.mimic_levels must be a list of (student_level, '
                    'teacher_level) int pairs, e.g. [(0, 0)] or [(0, 0), '
                    '(1, 1)], or None for all levels pairwise')
            if isinstance(mimic_levels, (str, bytes)) or not isinstance(
                    mimic_levels, Sequence) or not mimic_levels:
                raise ValueError(f'{form}; got {mimic_levels!r}')
            for pair in mimic_levels:
                if isinstance(pair, (str, bytes)) or not isinstance(
                        pair, Sequence) or len(pair) != 2 or not all(
                            isinstance(v, numbers.Integral)
                            and not isinstance(v, bool) for v in pair):
                    raise ValueError(f'{form}; got {mimic_levels!r} (entry '
                                     f'{pair!r})')
            mimic_levels = [(int(s), int(t)) for s, t in mimic_levels]

        in_channels = getattr(self.mimic_adapter, 'in_channels', None)
        if in_channels is None:
            return mimic_levels
        in_channels = [in_channels] if isinstance(in_channels, int) \
            else list(in_channels)
        if mimic_levels is not None and len(in_channels) != len(mimic_levels):
            raise ValueError(
                f'model.mimic_adapter.in_channels={in_channels} has '
                f'{len(in_channels)} entr(y/ies) but model.mimic_levels='
                f'{mimic_levels} {len(mimic_levels)} pair(s); give one per '
                'mimicked level')
        # 4 cells of the coarsest level: enough for valid-padded backbones
        size = max(64, 4 * int(max(feature_strides(self))))
        param = next(self.parameters())
        modes = [(m, m.training) for m in self.modules()]
        devices = [param.device] if param.device.type == 'cuda' else []
        try:
            self.eval()
            with torch.no_grad(), torch.random.fork_rng(devices=devices):
                feats = self.extract_feat(param.new_zeros((1, 3, size, size)))
        except RuntimeError as e:
            print_log(f'FeatureMimicDistiller: mimic_adapter.in_channels not '
                      f'checked, the student failed on a {size}x{size} dry '
                      f'input ({e})', logger='current', level=logging.WARNING)
            return mimic_levels
        finally:
            for module, mode in modes:
                module.training = mode
        levels = [s for s, _ in mimic_levels] if mimic_levels is not None \
            else range(len(feats))
        found = [feats[s].shape[1] for s in levels if 0 <= s < len(feats)]
        if len(found) == len(in_channels) and found != in_channels:
            raise ValueError(
                f'model.mimic_adapter.in_channels={in_channels}, but the '
                f'student gives {found} channel(s) on the mimicked level(s) '
                f'{list(levels)}: set in_channels={found}')
        return mimic_levels

    @staticmethod
    def _check_fade(fade: Optional[Sequence[int]]) -> Optional[Tuple[int, int]]:
        if fade is None:
            return None
        if len(fade) != 2 or not 0 <= int(fade[0]) < int(fade[1]):
            raise ValueError(
                f'model.mimic_fade_iters={tuple(fade)!r}: give (begin, end) '
                'iterations with 0 <= begin < end, e.g. (600, 900) to fade the '
                'mimic losses out over the third quarter of 1200 iterations')
        return int(fade[0]), int(fade[1])

    @staticmethod
    def _check_stage2(cfg: OptConfigType) -> Optional[dict]:
        if cfg is None:
            return None
        cfg = dict(dict(cls_weight=1.0, reg_weight=1.0, cls_loss='kl',
                        temperature=1.0), **cfg)
        if cfg['cls_loss'] not in ('kl', 'l2'):
            raise ValueError(f"stage2_mimic.cls_loss={cfg['cls_loss']!r}: "
                             "'kl' or 'l2'")
        if cfg['temperature'] <= 0:
            raise ValueError(
                f"stage2_mimic.temperature={cfg['temperature']}: must be > 0")
        return cfg

    def _match_levels(self, mimic_levels) -> Tuple[List[Tuple[int, int]],
                                                   List[float]]:
        """Pair student and teacher levels; check that their strides agree."""
        student_strides = feature_strides(self)
        teacher_strides = feature_strides(self.teacher)
        if mimic_levels is None:
            if len(student_strides) != len(teacher_strides):
                raise ValueError(
                    f'the student has {len(student_strides)} feature level(s) '
                    f'(strides {student_strides}) and the teacher '
                    f'{len(teacher_strides)} (strides {teacher_strides}); set '
                    'model.mimic_levels=[(student_level, teacher_level), ...]')
            mimic_levels = list(zip(range(len(student_strides)),
                                    range(len(teacher_strides))))
        pairs = [(int(s), int(t)) for s, t in mimic_levels]
        factor = getattr(self.mimic_adapter, 'scale_factor', 1)
        for s, t in pairs:
            if not (0 <= s < len(student_strides)
                    and 0 <= t < len(teacher_strides)):
                raise ValueError(
                    f'mimic_levels pair ({s}, {t}) is out of range: the student '
                    f'has {len(student_strides)} level(s), the teacher '
                    f'{len(teacher_strides)}')
            # the student's stride in original-image pixels after the adapter
            effective = student_strides[s] / factor / self.student_input_scale
            if not math.isclose(effective, teacher_strides[t], rel_tol=1e-3):
                raise ValueError(
                    f'student level {s} has stride {student_strides[s]:g} on '
                    f'its input (x{self.student_input_scale:g} of the image), '
                    f'{effective:g} in image pixels after an adapter of scale '
                    f'{factor}, but teacher level {t} has stride '
                    f'{teacher_strides[t]:g}: the maps cannot be aligned. Set '
                    'model.student_input_scale and/or '
                    'model.mimic_adapter=dict(type=\'DeconvNeck\', '
                    'scale_factor=...) so that they agree.')
        return pairs, [teacher_strides[t] for _, t in pairs]

    # -- the teacher ------------------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        """``.to()``, ``.cuda()``, ``.cpu()``, ``.half()`` ... move the teacher."""
        teacher = self.__dict__.get('teacher')
        if teacher is not None:
            teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'FeatureMimicDistiller':
        """The teacher stays in eval mode whatever the mode; train mode loads
        its weights first (:meth:`load_teacher_weights`)."""
        teacher = self.__dict__.get('teacher')
        if teacher is not None:
            if mode:
                self.load_teacher_weights()
            teacher.train(False)
        return super().train(mode)

    def load_teacher_weights(self) -> None:
        """Load ``teacher_ckpt`` into the teacher, once.

        Called by ``train()`` (the runner's train loop, on every rank, after a
        resume too) and before any teacher forward (:meth:`_teacher_inputs`),
        never at build time: ``tools/test.py`` and inference run the student
        alone and need no teacher checkpoint. The weights are copied into the
        teacher's existing tensors, so they land on its device and dtype.
        """
        if self.__dict__.get('_teacher_loaded', True):
            return
        load_teacher_checkpoint(self.teacher, self.teacher_ckpt)
        self._teacher_loaded = True
        if self.teacher_ckpt is not None:
            print_log('FeatureMimicDistiller: teacher weights loaded from '
                      f'{self.teacher_ckpt}', logger='current')

    def _same_normalisation(self) -> bool:
        """Whether student and teacher preprocess images identically."""
        student, teacher = self.data_preprocessor, self.teacher.data_preprocessor
        if not all(hasattr(p, '_enable_normalize') for p in (student, teacher)):
            return True
        same = (student._enable_normalize == teacher._enable_normalize
                and student._channel_conversion == teacher._channel_conversion)
        if same and student._enable_normalize:
            same = torch.equal(student.mean.cpu(), teacher.mean.cpu()) and \
                torch.equal(student.std.cpu(), teacher.std.cpu())
        return same

    def _teacher_inputs(self, batch_inputs: Tensor) -> Tensor:
        """Re-normalise the student's batch where the teacher's preprocessor
        uses another mean, std or channel order (and make sure the teacher has
        its weights)."""
        self.load_teacher_weights()
        if self._same_preprocessing:
            return batch_inputs
        student, teacher = self.data_preprocessor, self.teacher.data_preprocessor
        raw = batch_inputs
        if student._enable_normalize:
            raw = raw * student.std + student.mean
        if student._channel_conversion != teacher._channel_conversion:
            raw = raw.flip(1)
        if teacher._enable_normalize:
            raw = (raw - teacher.mean) / teacher.std
        return raw

    # -- the student's view of the batch -----------------------------------------
    def _scaled_batch(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                      with_gt: bool) -> Tuple[Tensor, SampleList, Tuple[float,
                                                                     float]]:
        """Resize the batch for the student (:func:`scale_batch`)."""
        return scale_batch(batch_inputs, batch_data_samples,
                           self.student_input_scale, with_gt)

    # -- training ------------------------------------------------------------------
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Student losses plus mimic losses.

        Args:
            batch_inputs (Tensor): (B, C, H, W) preprocessed images.
            batch_data_samples (list[DetDataSample]): with ``gt_instances``.

        Returns:
            dict[str, Tensor]: ``loss_rpn_*``, ``loss_cls``, ``loss_bbox``, ...,
            ``loss_mimic`` and, when enabled, ``loss_mimic_s2_cls``,
            ``loss_mimic_s2_reg``, ``loss_mimic_logit_cls``,
            ``loss_mimic_logit_reg``.
        """
        weight = self._mimic_weight()   # 0 once faded out: no teacher run
        teacher_x = None
        if weight > 0:
            # the teacher first: its no-grad forward then runs in memory that
            # the student's saved activations do not hold yet (on a CPU
            # markedly faster than after the student's forward; the result
            # is the same, the teacher draws no random numbers)
            with torch.no_grad():
                teacher_x = self.teacher.extract_feat(
                    self._teacher_inputs(batch_inputs))
        inputs, samples, (sx, sy) = self._scaled_batch(
            batch_inputs, batch_data_samples, with_gt=True)
        x = self.extract_feat(inputs)

        # RPN, keeping its raw outputs for the logit-mimic baseline
        rpn_samples = copy.deepcopy(samples)
        for sample in rpn_samples:
            sample.gt_instances.labels = torch.zeros_like(
                sample.gt_instances.labels)
        gt_instances, gt_ignore, img_metas = unpack_gt_instances(rpn_samples)
        rpn_outs = self.rpn_head(x)
        losses = {}
        rpn_losses = self.rpn_head.loss_by_feat(*rpn_outs, gt_instances,
                                                img_metas, gt_ignore)
        for key, value in rpn_losses.items():
            name = f'rpn_{key}' if 'loss' in key and 'rpn' not in key else key
            losses[name] = value
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        rpn_results_list = self.rpn_head.predict_by_feat(
            *rpn_outs, batch_img_metas=img_metas, cfg=proposal_cfg)

        if teacher_x is None:   # faded out: the student alone, same log keys
            losses.update(self._mimic_off(x))
        else:
            # mimic regions, before the RoI head renames `bboxes` to `priors`
            student_rois, positives = self.mimic_sampler(rpn_results_list,
                                                         samples)
            teacher_rois = student_rois.clone()
            teacher_rois[:, [1, 3]] /= sx
            teacher_rois[:, [2, 4]] /= sy
            if self.mimic_loss is not None:
                losses['loss_mimic'] = weight * self._feature_mimic(
                    x, teacher_x, teacher_rois)

        losses.update(self.roi_head.loss(x, rpn_results_list, samples))
        if teacher_x is None:
            return losses
        if self.stage2_mimic is not None:
            losses.update(self._stage2_mimic(x, teacher_x, student_rois,
                                             teacher_rois, positives, weight))
        if self.logit_mimic is not None:
            losses.update(self._logit_mimic(rpn_outs, teacher_x, weight))
        return losses

    def _mimic_weight(self) -> float:
        """Factor of the mimic losses at the current iteration (warm-up and
        fade-out)."""
        step = MessageHub.get_current_instance().get_info('iter', 0)
        weight = 1.0
        if self.mimic_warmup_iters > 0:
            weight = min(1.0, (step + 1) / self.mimic_warmup_iters)
        if self.mimic_fade_iters is not None:
            begin, end = self.mimic_fade_iters
            weight *= min(1.0, max(0.0, (end - step) / (end - begin)))
        return weight

    def _mimic_off(self, x: Tuple[Tensor]) -> Dict[str, Tensor]:
        """Zero mimic losses, under the keys the mimic step logs. The adapter
        stays in the graph (zero gradients), so DDP finds every parameter."""
        losses = {}
        if self.mimic_loss is not None:
            losses['loss_mimic'] = sum(
                s.sum() for s in self._adapted_student(x)) * 0.0
        zero = x[0].new_zeros(())
        if self.stage2_mimic is not None:
            losses.update(loss_mimic_s2_cls=zero, loss_mimic_s2_reg=zero)
        if self.logit_mimic is not None:
            losses.update(loss_mimic_logit_cls=zero, loss_mimic_logit_reg=zero)
        return losses

    def mimic_pairs(self, x: Tuple[Tensor], teacher_x: Tuple[Tensor]
                    ) -> Tuple[List[Tensor], List[Tensor]]:
        """The maps the mimic loss compares, one pair per ``mimic_levels``
        entry: the student's level after the adapter and the teacher's, cropped
        to their common area, each (B, C_teacher, H, W)."""
        teacher = [teacher_x[t] for _, t in self.mimic_levels]
        return self._align_maps(self._adapted_student(x), teacher)

    def _adapted_student(self, x: Tuple[Tensor]) -> List[Tensor]:
        """The mimicked student levels after ``mimic_adapter``, each
        (B, C_teacher, H, W)."""
        student = [x[s] for s, _ in self.mimic_levels]
        if self.mimic_adapter is not None:
            student = list(self.mimic_adapter(student))
        return student

    def _feature_mimic(self, x: Tuple[Tensor], teacher_x: Tuple[Tensor],
                       teacher_rois: Tensor) -> Tensor:
        student, teacher = self.mimic_pairs(x, teacher_x)
        return self.mimic_loss(student, teacher, teacher_rois,
                               self.mimic_strides)

    def _align_maps(self, student: List[Tensor], teacher: List[Tensor]
                    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Crop each pair to its common top-left area (padding differences).

        Raises:
            ValueError: channels differ, or sizes differ by more than padding.
        """
        out_s, out_t = [], []
        for (s_lvl, t_lvl), s, t in zip(self.mimic_levels, student, teacher):
            sh, sw = s.shape[-2:]
            th, tw = t.shape[-2:]
            if s.shape[:2] != t.shape[:2] or abs(sh - th) > 2 or \
                    abs(sw - tw) > 2:
                raise ValueError(
                    f'student level {s_lvl} gives {tuple(s.shape)} after the '
                    f'adapter, teacher level {t_lvl} gives {tuple(t.shape)}. '
                    'Channels must match (set model.mimic_adapter=dict('
                    "type='DeconvNeck', in_channels=<student channels>, "
                    'out_channels=<teacher channels>, scale_factor=1)) and the '
                    'maps must have the same stride (model.student_input_scale,'
                    ' mimic_adapter.scale_factor).')
            h, w = min(sh, th), min(sw, tw)
            out_s.append(s[..., :h, :w])
            out_t.append(t[..., :h, :w])
        return out_s, out_t

    def _stage2_mimic(self, x: Tuple[Tensor], teacher_x: Tuple[Tensor],
                      student_rois: Tensor, teacher_rois: Tensor,
                      positives: Tensor, weight: float) -> Dict[str, Tensor]:
        """The teacher's R-CNN outputs on the mimic regions as soft targets."""
        cfg = self.stage2_mimic
        student = self.roi_head._bbox_forward(x, student_rois)
        with torch.no_grad():
            teacher = self.teacher.roi_head._bbox_forward(teacher_x, teacher_rois)
        for key in ('cls_score', 'bbox_pred'):
            if student[key].shape != teacher[key].shape:
                raise ValueError(
                    f'stage2_mimic: student {key} {tuple(student[key].shape)} '
                    f'and teacher {key} {tuple(teacher[key].shape)} differ; '
                    'the two RoI heads need the same num_classes and '
                    'reg_class_agnostic')
        s_cls, t_cls = student['cls_score'].float(), teacher['cls_score'].float()
        if cfg['cls_loss'] == 'kl':
            temp = cfg['temperature']
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
        return dict(loss_mimic_s2_cls=weight * cfg['cls_weight'] * loss_cls,
                    loss_mimic_s2_reg=weight * cfg['reg_weight'] * loss_reg)

    def _logit_mimic(self, rpn_outs: Tuple[List[Tensor], ...],
                     teacher_x: Tuple[Tensor], weight: float
                     ) -> Dict[str, Tensor]:
        """L2 between the student's and the teacher's RPN outputs."""
        with torch.no_grad():
            teacher_outs = self.teacher.rpn_head(teacher_x)
        losses = {}
        for name, s_maps, t_maps in zip(('cls', 'reg'), rpn_outs[:2],
                                        teacher_outs[:2]):
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
                weight * self.logit_mimic[f'{name}_weight'] * loss
        return losses

    # -- test ---------------------------------------------------------------------
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """The student's predictions, in the original image coordinates."""
        if self.student_input_scale == 1.0:
            return super().predict(batch_inputs, batch_data_samples, rescale)
        inputs, samples, _ = self._scaled_batch(batch_inputs,
                                                batch_data_samples,
                                                with_gt=False)
        samples = super().predict(inputs, samples, rescale)
        for original, sample in zip(batch_data_samples, samples):
            original.pred_instances = sample.pred_instances
        if not rescale:
            # boxes in the student's input: map them back to the batch's
            sx = inputs.shape[-1] / batch_inputs.shape[-1]
            sy = inputs.shape[-2] / batch_inputs.shape[-2]
            for original in batch_data_samples:
                original.pred_instances.bboxes = rescale_boxes(
                    original.pred_instances.bboxes, 1 / sx, 1 / sy)
        return batch_data_samples

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: SampleList = None) -> tuple:
        """The student's raw outputs (on its resized input)."""
        inputs, samples, _ = self._scaled_batch(batch_inputs,
                                                batch_data_samples or [],
                                                with_gt=False)
        return super()._forward(inputs, samples)

    def __repr__(self) -> str:
        body = super().__repr__()
        return (f'{body}\n(teacher: {type(self.teacher).__name__}, frozen, '
                f'checkpoint {self.teacher_ckpt!r})')

