import inspect
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.logging import print_log
from torch import Tensor

from mmmimic.registry import MODELS, TASK_UTILS, build_in_mmmimic
from mmmimic.utils.compat import CarriesUnregisteredModules, bbox_forward

from ..data_preprocessors.scaled_det_data_preprocessor import (
    rescale_boxes,
    scale_batch,
)
from ..losses.mimic_step import (
    BaseMimicLoss,
    MimicStep,
    build_mimic_term,
    check_term_losses,
)
from .levels import align_maps, level_strides, match_levels, probe_levels
from .mimic_checks import (
    check_adapter_channels,
    check_student_proposals,
    check_weights,
    parse_mimic_levels,
)
from .mimic_tap import MimicTap
from .student_class import mimic_class, new_joined_instance, student_detector_class
from .teacher import (
    TeacherConfig,
    build_teacher,
    load_teacher_checkpoint,
    renormalise,
    same_normalisation,
)


def no_grad(function, *args):
    """``function(*args)`` without gradients (the teacher's parts)."""
    with torch.no_grad():
        return function(*args)


@MODELS.register_module()
class FeatureMimicDistiller(CarriesUnregisteredModules, TwoStageDetector):
    """A two-stage student that mimics a frozen teacher's features in regions.

    Li, Jin & Yan, *Mimicking Very Efficient Network for Object Detection*,
    CVPR 2017. The detector's own ``backbone``/``neck``/``rpn_head``/
    ``roi_head`` are the student, built and trained by the student's own
    class (``student_type``: the distiller is made a subclass of it, so its
    ``loss`` and ``predict`` run untouched); at test time this model *is*
    the student. One training step (:meth:`loss`) follows the paper's data
    flow through public steps: :meth:`teacher_features` ->
    :meth:`student_view` -> the student's own ``loss``, tapped
    (:class:`MimicTap`) where its RoI head receives the feature maps and the
    RPN's proposals -> :meth:`mimic_regions` -> the mimic terms
    (:class:`~mmmimic.models.losses.BaseMimicLoss`: feature, stage-2, logit)
    -> the student's RoI head.

    The teacher is not a registered submodule: it is absent from
    ``state_dict()``, ``parameters()``, the optimizer and ``init_weights()``,
    stays in eval mode, and follows ``.to()``/``.cuda()``/``.cpu()``.
    Warm-up and fade-out of the mimic losses come from
    :class:`~mmmimic.engine.MimicScheduleHook` through :attr:`mimic_weight`.

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
        mimic_loss (dict, optional): Feature mimic term
            (:class:`RoIMimicLoss`); None trains without feature mimic (the
            logit-mimic or two-stage-only baselines).
        mimic_sampler (dict): Region sampler (:class:`MimicRegionSampler`).
        mimic_adapter (dict, optional): The transform r applied to the mimicked
            student levels before the loss (:class:`MimicAdapter`); trained
            with the student, dropped at export.
        mimic_levels (sequence[tuple[int, int]], optional): ``(student_level,
            teacher_level)`` pairs to mimic; default: all levels, pairwise.
        student_input_scale (float): The student sees the batch resized by
            this factor (training and test); predictions are returned in the
            original image coordinates.
        stage2_mimic (dict, optional): Arguments of the stage-2 term
            (:class:`Stage2MimicLoss`): the teacher's RoI head outputs on the
            mimic regions as soft targets.
        logit_mimic (dict, optional): Arguments of the logit-mimic baseline
            (:class:`LogitMimicLoss`) on the RPN outputs.
        student_type (str, optional): The student's own detector class, a
            :class:`TwoStageDetector` (e.g. ``'mmdet.CascadeRCNN'``): the
            student is built and trained as that class, and the export writes
            it; None: ``TwoStageDetector``. Keys of the config that neither
            the distiller nor ``TwoStageDetector`` takes go to that class.
    """
    #: attributes (and state-dict prefixes) that only training uses; the
    #: export drops them and keeps the rest, the student
    TRAINING_ONLY = ('teacher', 'mimic_adapter', 'mimic_loss', 'mimic_sampler',
                     'stage2_mimic', 'logit_mimic')

    #: not registered submodules, but moved with the distiller
    #: (``.to()``, ``.cuda()``, ``.half()``)
    unregistered_modules = ('teacher', )

    #: the student's own detector class (``student_type``); set on the
    #: classes :meth:`__new__` makes
    student_class: type = TwoStageDetector

    def __new__(cls, *args, student_type: Optional[str] = None, **kwargs):
        """An instance of ``cls`` joined with the student's own class: a
        subclass ``FeatureMimicDistiller[FasterRCNN]`` whose MRO runs the
        distiller's steps first, then ``model.student_type``'s (its
        ``__init__``, ``loss``, ``predict``), so that the student trains as
        the class the user configured."""
        student = student_detector_class(student_type)
        return super().__new__(mimic_class(cls, student))

    def __reduce_ex__(self, protocol: int):
        """Pickled (``torch.save(model)``, a spawned worker) through the
        distiller's and the student's classes, which a pickle can name, not
        the joined class made at run time."""
        reduced = super().__reduce_ex__(protocol)
        joined = type(self).__dict__.get('joined_from')
        if joined is None or not isinstance(reduced, tuple):
            return reduced
        return (new_joined_instance, joined) + tuple(reduced[2:])

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: ConfigType,
                 test_cfg: ConfigType,
                 teacher_config: TeacherConfig,
                 teacher_ckpt: Optional[str] = None,
                 neck: OptConfigType = None,
                 mimic_loss: OptConfigType = dict(type='RoIMimicLoss'),
                 mimic_sampler: ConfigType = dict(type='MimicRegionSampler'),
                 mimic_adapter: OptConfigType = None,
                 mimic_levels: Optional[Sequence[Tuple[int, int]]] = None,
                 student_input_scale: float = 1.0,
                 stage2_mimic: OptConfigType = None,
                 logit_mimic: OptConfigType = None,
                 student_type: Optional[str] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 **kwargs) -> None:
        for key in ('mimic_warmup_iters', 'mimic_fade_iters'):
            if key in kwargs:
                raise ValueError(
                    f'model.{key} moved to a hook: remove it from the model '
                    "and add custom_hooks=[dict(type='MimicScheduleHook', "
                    'warmup_iters=..., fade_iters=(begin, end))]')
        student = self.student_class
        accepted = inspect.signature(student.__init__).parameters
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown and not any(p.kind is inspect.Parameter.VAR_KEYWORD
                               for p in accepted.values()):
            raise TypeError(
                f'FeatureMimicDistiller got unknown key(s) {unknown}: neither '
                f'the distiller nor the student class {student.__name__} '
                '(model.student_type) takes them')
        # the student's own class builds the student (MRO: the next class)
        super().__init__(
            backbone=backbone, neck=neck, rpn_head=rpn_head,
            roi_head=roi_head, train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg, **kwargs)
        if not student_input_scale > 0:
            raise ValueError(
                f'student_input_scale={student_input_scale}: must be > 0')
        self.student_input_scale = float(student_input_scale)
        self.student_type = student_type
        #: factor of every mimic loss; set by MimicScheduleHook, 0 = off
        self.mimic_weight = 1.0
        self.mimic_sampler = build_in_mmmimic(TASK_UTILS, mimic_sampler)
        self.mimic_adapter = build_in_mmmimic(MODELS, mimic_adapter) \
            if mimic_adapter is not None else None
        # the terms, each dict(type=..., ...) of a registered BaseMimicLoss
        self.mimic_loss = build_mimic_term('mimic_loss', mimic_loss)
        self.stage2_mimic = build_mimic_term('stage2_mimic', stage2_mimic)
        self.logit_mimic = build_mimic_term('logit_mimic', logit_mimic)
        if not self.mimic_terms:
            raise ValueError(
                'FeatureMimicDistiller: mimic_loss=None and neither '
                'stage2_mimic nor logit_mimic is set, so nothing is mimicked; '
                'train the student config alone instead')
        check_weights({key: getattr(self, key) for key in
                       ('mimic_loss', 'stage2_mimic', 'logit_mimic')
                       if getattr(self, key) is not None})
        mimic_levels = parse_mimic_levels(mimic_levels)
        check_student_proposals(self)
        # strides measured on a dry input and checked against the configs'
        student_levels = probe_levels(self, 'student')
        check_adapter_channels(self, self.mimic_adapter, mimic_levels,
                               student_levels)

        teacher = build_teacher(teacher_config)
        teacher.requires_grad_(False)
        teacher.eval()
        # a plain attribute, so that nn.Module does not register it
        object.__setattr__(self, 'teacher', teacher)
        teacher_levels = probe_levels(teacher, 'teacher')
        self.teacher_ckpt = teacher_ckpt
        # its weights come with the first training use (load_teacher_weights):
        # testing and inference need no teacher checkpoint
        self._teacher_loaded = False
        self._same_preprocessing = same_normalisation(
            self.data_preprocessor, teacher.data_preprocessor)
        source = f'its weights are read from {teacher_ckpt} when training ' \
            'starts' if teacher_ckpt is not None else 'no teacher_ckpt: it ' \
            'keeps its initial weights (set model.teacher_ckpt to train by ' \
            'mimic; testing needs none)'
        print_log(f'FeatureMimicDistiller: teacher {type(teacher).__name__}, '
                  f'frozen; {source}', logger='current')
        self.mimic_levels, self.mimic_strides = match_levels(
            level_strides(self, student_levels),
            level_strides(teacher, teacher_levels), mimic_levels,
            self.student_input_scale,
            getattr(self.mimic_adapter, 'scale_factor', 1))
        for term in self.mimic_terms:
            term.check(self, teacher)

    @classmethod
    def distiller_keys(cls) -> Tuple[str, ...]:
        """Config keys of the distiller alone (the others describe the
        student detector)."""
        own = inspect.signature(cls.__init__).parameters
        base = inspect.signature(TwoStageDetector.__init__).parameters
        return tuple(k for k, p in own.items() if k not in base
                     and p.kind is not inspect.Parameter.VAR_KEYWORD)

    @property
    def mimic_terms(self) -> List[BaseMimicLoss]:
        """The configured mimic terms: feature, stage-2, logit."""
        return [t for t in (self.mimic_loss, self.stage2_mimic,
                            self.logit_mimic) if t is not None]

    # -- the teacher ------------------------------------------------------------
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
        resume too) and before any teacher forward (:meth:`teacher_features`),
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

    def teacher_inputs(self, batch_inputs: Tensor) -> Tensor:
        """The student's preprocessed batch (B, 3, H, W) in the teacher's
        normalisation (mean, std, channel order), after making sure the
        teacher has its weights."""
        self.load_teacher_weights()
        if self._same_preprocessing:
            return batch_inputs
        return renormalise(batch_inputs, self.data_preprocessor,
                           self.teacher.data_preprocessor)

    def teacher_features(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """The teacher's levels of the full-size batch, each (B, C_t, H, W),
        without gradients."""
        with torch.no_grad():
            return self.teacher.extract_feat(self.teacher_inputs(batch_inputs))

    # -- the student's view and the mimicked maps --------------------------------
    def student_view(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                     with_gt: bool = True
                     ) -> Tuple[Tensor, SampleList, Tuple[float, float]]:
        """The batch resized by ``student_input_scale`` (:func:`scale_batch`):
        inputs (B, 3, h, w), samples with boxes in those pixels, and the
        factors ``(sx, sy)`` from batch to student pixels."""
        return scale_batch(batch_inputs, batch_data_samples,
                           self.student_input_scale, with_gt)

    def adapted_student(self, x: Tuple[Tensor]) -> List[Tensor]:
        """The mimicked student levels after ``mimic_adapter``, each
        (B, C_teacher, H, W)."""
        student = [x[s] for s, _ in self.mimic_levels]
        if self.mimic_adapter is not None:
            student = list(self.mimic_adapter(student))
        return student

    def mimic_pairs(self, x: Tuple[Tensor], teacher_x: Tuple[Tensor]
                    ) -> Tuple[List[Tensor], List[Tensor]]:
        """The maps the feature mimic compares, one pair per ``mimic_levels``
        entry: the student's level after the adapter and the teacher's, cropped
        to their common area, each (B, C_teacher, H, W)."""
        teacher = [teacher_x[t] for _, t in self.mimic_levels]
        return align_maps(self.mimic_levels, self.adapted_student(x), teacher)

    def mimic_regions(self, proposals: InstanceList, samples: SampleList,
                      scale: Tuple[float, float]
                      ) -> Tuple[Tensor, Tensor, Tensor]:
        """The mimic regions drawn from the student's proposals
        (``mimic_sampler``): (n, 5) in the student's pixels, (n, 5) in the
        teacher's (the batch's), and the (n, ) bool positives."""
        student_rois, positives = self.mimic_sampler(proposals, samples)
        teacher_rois = student_rois.clone()
        teacher_rois[:, [1, 3]] /= scale[0]
        teacher_rois[:, [2, 4]] /= scale[1]
        return student_rois, teacher_rois, positives

    # -- training ------------------------------------------------------------------
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Student losses plus mimic losses.

        Args:
            batch_inputs (Tensor): (B, C, H, W) preprocessed images.
            batch_data_samples (list[DetDataSample]): with ``gt_instances``.

        Returns:
            dict[str, Tensor]: ``loss_rpn_*``, the terms' ``loss_mimic*``
            (times :attr:`mimic_weight`; zeros while it is 0), ``loss_cls``,
            ``loss_bbox``, ...
        """
        weight = self.mimic_weight
        # 1. the teacher first (not at all while mimic is off): its no-grad
        # forward then runs in memory that the student's saved activations do
        # not hold yet, markedly faster on a CPU; it draws no random numbers
        teacher_x = self.teacher_features(batch_inputs) if weight > 0 else None
        # 2. the student's view of the batch (resized by student_input_scale)
        inputs, samples, scale = self.student_view(batch_inputs,
                                                   batch_data_samples)

        # 3. the student's own step (its class's loss): RPN, then RoI head.
        # Where the RoI head receives the maps and proposals, the tap runs
        # the mimic part (regions, then terms) on exactly those
        def mimic(x, proposals, samples, rpn_outs):
            return self.mimic_losses(x, proposals, samples, rpn_outs,
                                     teacher_x, scale, weight)

        tap = MimicTap(self, mimic, len(samples))
        with tap.attached():
            losses = super().loss(inputs, samples)
        # 4. the student's losses with the mimic terms'
        return tap.merge(losses)

    def mimic_losses(self, x: Tuple[Tensor, ...], proposals: InstanceList,
                     samples: SampleList, rpn_outs: Optional[tuple],
                     teacher_x: Optional[Tuple[Tensor, ...]],
                     scale: Tuple[float, float],
                     weight: float) -> Dict[str, Tensor]:
        """The mimic part of one training step: regions, then every term.

        Args:
            x (tuple[Tensor]): The student's levels, each (B, C_s, h, w).
            proposals (list[InstanceData]): The student's RPN proposals, as
                its RoI head receives them.
            samples (list[DetDataSample]): The batch in the student's pixels.
            rpn_outs (tuple, optional): The student's raw RPN outputs.
            teacher_x (tuple[Tensor], optional): The teacher's levels, each
                (B, C_t, H, W); None while the schedule has mimic off.
            scale (tuple[float, float]): Batch-to-student pixel factors.
            weight (float): The schedule's factor of every mimic loss.

        Returns:
            dict[str, Tensor]: every term's ``loss_names``, times ``weight``
            (zeros that keep the adapter in the graph while mimic is off).
        """
        teacher = self.teacher
        step = MimicStep(strides=list(self.mimic_strides),
                         student_rpn=rpn_outs)
        losses: Dict[str, Tensor] = {}
        if teacher_x is None:
            step.teacher_maps = None   # (step.mimic_on is False)
            step.provide('student_maps', lambda: self.adapted_student(x))
            for term in self.mimic_terms:
                losses.update(check_term_losses(
                    term, term.zero_losses(step), 'zero_losses'))
            return losses
        # the regions, from the student's proposals
        step.student_rois, step.teacher_rois, step.positives = \
            self.mimic_regions(proposals, samples, scale)
        # what the terms may read, computed when one first does
        step.provide(('student_maps', 'teacher_maps'),
                     lambda: self.mimic_pairs(x, teacher_x))
        step.provide('teacher_rpn',
                     lambda: no_grad(teacher.rpn_head, teacher_x))
        step.provide('student_rcnn', lambda: bbox_forward(
            self.roi_head, x, step.student_rois))
        step.provide('teacher_rcnn', lambda: no_grad(
            bbox_forward, teacher.roi_head, teacher_x, step.teacher_rois))
        for term in self.mimic_terms:
            term_losses = check_term_losses(term, term.step_loss(step))
            losses.update({k: weight * v for k, v in term_losses.items()})
        return losses

    # -- test ---------------------------------------------------------------------
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """The student's predictions, in the original image coordinates."""
        if self.student_input_scale == 1.0:
            return super().predict(batch_inputs, batch_data_samples, rescale)
        inputs, samples, _ = self.student_view(batch_inputs,
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

    def forward(self, inputs: Tensor, data_samples: SampleList = None,
                mode: str = 'tensor'):
        """As :class:`TwoStageDetector`; ``mode='tensor'`` gives the
        student's raw outputs on its resized input."""
        if mode == 'tensor':
            inputs, data_samples, _ = self.student_view(
                inputs, data_samples or [], with_gt=False)
        return super().forward(inputs, data_samples, mode)

    def __repr__(self) -> str:
        body = super().__repr__()
        return (f'{body}\n(teacher: {type(self.teacher).__name__}, frozen, '
                f'checkpoint {self.teacher_ckpt!r})')
