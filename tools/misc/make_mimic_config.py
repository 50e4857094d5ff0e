"""Write a feature-mimic config for your own student and teacher configs.

    python tools/misc/make_mimic_config.py STUDENT_CFG TEACHER_CFG TEACHER_CKPT OUT \
        [--num-regions 256] [--mode pixel] [--loss-weight 1.0]
    mim run mmmimic make_mimic_config STUDENT_CFG TEACHER_CFG TEACHER_CKPT OUT

Both configs may be files or ``mmdet::``-style package paths and must describe
two-stage detectors. The student's feature maps are matched to the teacher's
level by level (same count, same order); where their channels or strides differ
a training-only ``MimicAdapter`` (the transform r) is inserted (1x1 conv for channels,
learned x2/x4 upsampling for a coarser student), and a student that runs on a
resized input (``ScaledDetDataPreprocessor``) becomes ``student_input_scale``.
The written config inherits the student config, so it keeps its data, schedule
and runtime; it is checked by building the model before it is written.
"""
import argparse
import datetime
import math
import os.path as osp
import pprint
import warnings

from mmengine.config import Config

import mmmimic  # noqa: F401
from mmmimic.models.distillers import image_stride, match_levels
from mmmimic.models.distillers.levels import probe_levels
from mmmimic.models.distillers.mimic_checks import check_student_proposals
from mmmimic.models.distillers.teacher import load_detector_config
from mmmimic.registry import build_in_config_scope
from mmmimic.utils import atomic_path, register_all_modules
from mmmimic.utils.atomic import DestinationError, check_destination
from mmmimic.utils.cli import UsageError, non_negative_float, positive_int

SCALED = ('ScaledDetDataPreprocessor', 'mmmimic.ScaledDetDataPreprocessor')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a FeatureMimicDistiller config for a student and a '
        'teacher config')
    parser.add_argument('student', help='student config (file or pkg::path)')
    parser.add_argument('teacher', help='teacher config (file or pkg::path)')
    parser.add_argument('teacher_ckpt', help='teacher checkpoint (need not '
                        'exist yet)')
    parser.add_argument('out', help='the config to write (.py)')
    parser.add_argument('--num-regions', type=positive_int, default=256,
                        help='mimic regions per image')
    parser.add_argument('--mode', default='pixel',
                        choices=['pixel', 'roi_align', 'spp', 'global'])
    parser.add_argument('--loss-weight', type=non_negative_float, default=1.0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT (never an input)')
    return parser.parse_args()


def build(cfg: Config):
    """The detector of ``cfg``, built in its scope, without pretrained init."""
    return build_in_config_scope(cfg, default_scope='mmdet')


def describe(detector, input_scale: float, role: str) -> list:
    """(channels, stride in image pixels) of each feature level, measured on
    a dry input and checked against the strides the config states."""
    if not (hasattr(detector, 'rpn_head') and hasattr(detector, 'roi_head')):
        raise TypeError(
            f'{type(detector).__name__} is not a two-stage detector (no '
            'rpn_head/roi_head): feature mimic needs the student\'s RPN '
            'proposals')
    if role == 'student':
        check_student_proposals(detector)
    levels = probe_levels(detector, role)
    if levels is None:
        raise ValueError(
            f'the {role} ({type(detector).__name__}) could not be run on a '
            'dry input to measure its feature maps (the warning above says '
            'why); write its mimic config by hand from configs/mimic/')
    return [(c, image_stride(s, input_scale)) for c, s in levels]


def scoped_type(cfg: Config) -> str:
    """The config's ``model.type`` with its registry scope, e.g.
    ``'mmdet.CascadeRCNN'`` (the form ``model.student_type`` takes)."""
    kind = cfg.model.type
    if not isinstance(kind, str):
        kind = kind.__name__
    if '.' in kind:
        return kind
    return f"{cfg.get('default_scope', 'mmdet')}.{kind}"


def adapter_for(student: list, teacher: list):
    """A MimicAdapter config matching ``student`` levels to ``teacher``'s, or None
    when they already agree. Raises ValueError when no adapter can."""
    if len(student) != len(teacher):
        raise ValueError(
            f'the student has {len(student)} feature level(s) '
            f'{[s for _, s in student]} and the teacher {len(teacher)} '
            f'{[s for _, s in teacher]}: write model.mimic_levels=[(student, '
            'teacher), ...] into the generated config by hand')
    # what an adapter would have to do: upsample the student by the ratio of
    # the first pair; match_levels below checks every pair against it
    factor = student[0][1] / teacher[0][1]
    if factor < 1 and not math.isclose(factor, 1):
        raise ValueError(
            f'the student\'s maps are finer than the teacher\'s (stride '
            f'{student[0][1]:g} vs {teacher[0][1]:g} image pixels) and an '
            'adapter only upsamples the student. Give the student a coarser '
            'map or a smaller input (ScaledDetDataPreprocessor input_scale '
            f'{factor:g} times the present one), or pair it with a teacher '
            'level of its stride (model.mimic_levels)')
    if not math.isclose(factor, round(factor)) or \
            round(factor) & (round(factor) - 1):
        raise ValueError(
            f'the student\'s stride is {factor:g}x the teacher\'s (stride '
            f'{student[0][1]:g} vs {teacher[0][1]:g} image pixels); an adapter '
            'can upsample by 1, 2, 4, ... only. Give the student a finer map '
            'or a larger input so that the ratio is a power of 2')
    # the distiller's own stride check, on the strides in image pixels
    match_levels([s for _, s in student], [t for _, t in teacher],
                 upsample=int(round(factor)))
    s_ch = [c for c, _ in student]
    t_ch = [c for c, _ in teacher]
    if s_ch == t_ch and factor == 1:
        return None
    one = len(s_ch) == 1
    return dict(type='mmmimic.MimicAdapter',
                in_channels=s_ch[0] if one else s_ch,
                out_channels=t_ch[0] if one else t_ch,
                scale_factor=int(round(factor)))


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    try:
        check_destination(args.out, [args.student, args.teacher,
                                     args.teacher_ckpt], args.overwrite,
                          suffix='.py')
    except DestinationError as error:
        raise UsageError(f'OUT {error}') from None
    try:
        student_cfg = load_detector_config(args.student, key='STUDENT_CFG')
        teacher_cfg = load_detector_config(args.teacher, key='TEACHER_CFG')
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    overrides = {}
    preprocessor = student_cfg.model.get('data_preprocessor') or {}
    input_scale = 1.0
    if preprocessor.get('type') in SCALED:
        input_scale = float(preprocessor.get('input_scale', 1.0))
        plain = {k: v for k, v in preprocessor.items() if k != 'input_scale'}
        plain['type'] = 'mmdet.DetDataPreprocessor'
        overrides['data_preprocessor'] = dict(plain, _delete_=True)
        overrides['student_input_scale'] = input_scale

    try:
        student = describe(build(student_cfg), input_scale, 'student')
        teacher = describe(build(teacher_cfg), 1.0, 'teacher')
        adapter = adapter_for(student, teacher)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None

    base = args.student
    if '::' not in base:
        base = osp.relpath(osp.abspath(base),
                           osp.dirname(osp.abspath(args.out)))
    model = dict(
        type='mmmimic.FeatureMimicDistiller',
        # the student trains as its own class, and the export writes it
        student_type=scoped_type(student_cfg),
        teacher_config=args.teacher if '::' in args.teacher
        else osp.abspath(args.teacher),
        teacher_ckpt=args.teacher_ckpt,
        mimic_adapter=adapter,
        mimic_sampler=dict(type='mmmimic.MimicRegionSampler',
                           num=args.num_regions, pos_fraction=0.5,
                           order='score'),
        mimic_loss=dict(type='mmmimic.RoIMimicLoss', mode=args.mode,
                        normalize=True, loss_weight=args.loss_weight),
        **overrides)
    text = (
        f'# Written by tools/misc/make_mimic_config.py on '
        f'{datetime.date.today()}:\n'
        f'#   student {args.student}: levels (channels, stride) {student}\n'
        f'#   teacher {args.teacher}: levels (channels, stride) {teacher}\n'
        f"_base_ = '{base}'\n"
        "custom_imports = dict(imports=['mmmimic'], "
        'allow_failed_imports=False)\n\n'
        f'model = {pprint.pformat(model, indent=4, sort_dicts=False)}\n')

    with atomic_path(args.out) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)
        # check it: the written config builds (teacher without its checkpoint)
        cfg = Config.fromfile(tmp)
        cfg.model.teacher_ckpt = None
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            build(cfg)
    print(f'student levels (channels, stride): {student}')
    print(f'teacher levels (channels, stride): {teacher}')
    if adapter is None:
        print('adapter: none (the maps already agree)')
    else:
        print(f'adapter (training only, dropped by extract_student): '
              f'{adapter}')
    if input_scale != 1.0:
        print(f'student input scale: {input_scale:g} (student_input_scale)')
    print(f'written: {args.out}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
