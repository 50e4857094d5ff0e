"""The demo's rows: the teacher, the student alone and the mimic student
(``configs/demo/``), the ablation rows (``configs/demo/ablations/``) with the
paper's finding each one checks, their configs and schedules, the run key
that says whether a recorded number is still current, and the condition
(data variant, schedule length) a run's rows are kept under."""
import argparse
import hashlib
import json
import os.path as osp
from typing import List, NamedTuple, Sequence, Tuple

from mmengine.config import Config

#: the repository root (configs, checkpoints, tools, data and work dirs)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'demo')
ABLATION_DIR = osp.join(CONFIGS, 'ablations')
RUNS = [
    # name, config, role
    ('teacher (MobileNetV2 1.0, ImageNet)',
     'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py', 'teacher'),
    ('student alone (MobileNetV2 0.5, scratch)',
     'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py', 'student'),
    ('student + mimic (MobileNetV2 0.5, scratch)',
     'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py', 'mimic'),
]
#: each ablation row (configs/demo/ablations/<name>.py): the row it is
#: compared with, seed by seed, and the paper's finding, with the direction it
#: predicts (+1: the row's MR-2 is higher, i.e. worse, than its reference's)
ABLATIONS = {
    'wholemap': ('mimic', +1, '1. whole-map mimic is worse than mimic in '
                 'regions'),
    'logit': ('student', +1, '2. logit mimic is worse than the student '
              'alone'),
    'gt_regions': ('mimic', +1, '3. ground-truth regions are somewhat worse '
                   'than the student\'s own proposals'),
    'random_regions': ('mimic', +1, '3. (follow-up) proposals taken at '
                       'random are worse than the top-scoring ones'),
    'no_norm': ('mimic', +1, '4. without per-region normalisation mimic is '
                'worse (unstable)'),
    'spp': ('mimic', +1, '5. pixel-wise comparison is better than SPP'),
    'roi_align': ('mimic', +1, '5. pixel-wise comparison is better than a '
                  'single-size RoIAlign'),
    'two_stage': ('mimic', -1, '6. two-stage mimic is better than feature '
                  'mimic alone'),
    'half_input_alone': ('student', +1, '7. (baseline) the half-input student '
                         'alone is worse than the full-input one'),
    'half_input_deconv': ('half_input_alone', -1, '7. mimic helps the '
                          'half-input student (deconvolution kept)'),
    'half_input_adapter': ('half_input_deconv', +1, '7. a training-only '
                           'upsampling is worse than keeping the '
                           'deconvolution'),
    'w0.25_alone': ('student', +1, '8. (baseline) the quarter-width student '
                    'alone is worse than the half-width one'),
    'w0.25': ('w0.25_alone', -1, '8. mimic helps the quarter-width student '
              'too'),
}
TEACHER_NAME = RUNS[0][1][:-len('.py')]


class Row(NamedTuple):
    """One model of the table: ``role`` names it in ``results.json``."""
    role: str
    title: str
    config: str       # absolute path
    mimic: bool       # a distiller config (needs the teacher checkpoint)
    options: Tuple[str, ...] = ()   # --cfg-options of the row (a sweep)

    @property
    def name(self) -> str:
        """The row's name without its options (its ABLATIONS entry)."""
        return self.role.split('[')[0]


def demo_rows(ablations: Sequence[str],
              options: Sequence[str] = ()) -> List[Row]:
    """The teacher, student alone and mimic rows, then the named ablation
    rows with the ablation rows they are compared with, in table order.
    ``options`` (``key=value``) change the named rows only, which are then
    called ``name[key=value,...]`` (a weight sweep keeps each setting)."""
    rows = [Row(role, title, osp.join(CONFIGS, config), role == 'mimic')
            for title, config, role in RUNS]
    wanted, todo = set(), list(ablations)
    while todo:   # with the rows their references are compared with
        name = todo.pop()
        if name in ABLATIONS and name not in wanted:
            wanted.add(name)
            todo.append(ABLATIONS[name][0])
    for name in ABLATIONS:   # in the table's order
        if name in wanted:
            config = osp.join(ABLATION_DIR, f'{name}.py')
            mimic = 'teacher_config' in Config.fromfile(config).model
            if options and name in ablations:
                role = f'{name}[{",".join(options)}]'
                rows.append(Row(role, role, config, mimic, tuple(options)))
            else:
                rows.append(Row(name, name, config, mimic))
    return rows


def row_config(row: Row) -> Config:
    """The row's config with its options merged."""
    cfg = Config.fromfile(row.config)
    if row.options:
        cfg.merge_from_dict(parse_row_options(row.options))
    return cfg


def parse_row_options(options: Sequence[str]) -> dict:
    """``['key=value', ...]`` (``--row-options``) as ``--cfg-options``
    gives them: ``{key: value}`` with numbers, lists and tuples parsed."""
    from mmmimic.utils.compat import parse_cfg_option_value
    return {key: parse_cfg_option_value(value)
            for key, value in (o.split('=', 1) for o in options)}


def check_row_options(ablations: Sequence[str],
                      options: Sequence[str]) -> None:
    """Build each named row with ``options`` merged (``--row-options``), as
    its training would, so that a value out of range, a key the model does
    not take or a misspelled section is refused before any other row trains.
    The teacher's weights are not read.

    Raises:
        ValueError: naming the row and the problem.
    """
    from mmmimic.registry import build_in_config_scope
    from mmmimic.utils import register_all_modules
    from mmmimic.utils.config_file import read_config
    register_all_modules(init_default_scope=False)
    parsed = parse_row_options(options)
    for name in ablations:
        config = osp.join(ABLATION_DIR, f'{name}.py')
        try:
            cfg = read_config(config, cfg_options=parsed)
            if 'teacher_ckpt' in cfg.model:
                cfg.model.teacher_ckpt = None
            build_in_config_scope(cfg)
        except (ValueError, TypeError, KeyError) as error:
            message = error.args[0] if isinstance(error, KeyError) and \
                error.args else error
            raise ValueError(f'row {name}: {message}') from error


def row_iters(args: argparse.Namespace, row: Row) -> int:
    """The row's training iterations: ``--iters``, else 8 with ``--quick``,
    else its config's."""
    return args.iters or (8 if args.quick else
                          row_config(row).train_cfg.max_iters)


def default_iters() -> int:
    """The students' schedule length in their configs (500)."""
    return Config.fromfile(osp.join(CONFIGS, RUNS[1][1])).train_cfg.max_iters


def schedule_options(cfg: Config, iters: int) -> List[str]:
    """``--cfg-options`` that stretch the config's step schedule to ``iters``
    iterations: every ``MultiStepLR`` milestone and every scheduler's ``end``
    at ``max_iters`` are scaled by ``iters / max_iters`` (a warm-up that ends
    before ``max_iters`` is kept as it is). None at the config's own length, so
    that its run keys stay the same."""
    default = cfg.train_cfg.max_iters
    if iters == default:
        return []
    options = []
    for i, sched in enumerate(cfg.get('param_scheduler') or []):
        if sched.get('end') == default:
            options.append(f'param_scheduler.{i}.end={iters}')
        if 'milestones' in sched:
            steps = [max(1, round(m * iters / default))
                     for m in sched['milestones']]
            options.append(f'param_scheduler.{i}.milestones='
                           f'[{",".join(map(str, steps))}]')
    return options


def run_key(args: argparse.Namespace, row: Row, teacher_sha: str,
            data_sha: str) -> str:
    """What makes a row's number: its config as loaded (the repository's
    path left out, so that another clone gets the same key), the iterations,
    the thread count and the fingerprints of the teacher and of the data."""
    config = json.dumps(row_config(row).to_dict(), sort_keys=True,
                        default=str).replace(REPO, '<repo>')
    fields = dict(config=config, iters=None if row.role == 'teacher' else
                  row_iters(args, row), threads=args.threads,
                  teacher=teacher_sha, data=data_sha)
    schedule = [] if row.role == 'teacher' else schedule_options(
        row_config(row), row_iters(args, row))
    if schedule:   # (absent at the configs' own length: their keys stay)
        fields['schedule'] = schedule
    payload = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def condition(args: argparse.Namespace) -> Tuple[str, str]:
    """The suffixes under which the students' and the teacher's rows of this
    run are kept in ``results.json``: ``''`` for the demo's own data and
    schedule, else ``@sparse`` and / or ``@<iters>it`` (the teacher's: the
    data's only, its schedule is its config's)."""
    data = '' if args.data_variant == 'dense' else f'@{args.data_variant}'
    iters = '' if args.quick or args.iters in (None, default_iters()) else \
        f'@{args.iters}it'
    return data + iters, data


def default_work_dir(args: argparse.Namespace) -> str:
    """``--work-dir``, else ``work_dirs/demo[-quick]`` (absolute): where
    ``results.json`` is kept."""
    return osp.abspath(args.work_dir or osp.join(
        REPO, 'work_dirs', 'demo-quick' if args.quick else 'demo'))


def condition_work_dir(args: argparse.Namespace, rows_at: str) -> str:
    """Where this run's trainings and tests go: the runs of another condition
    (``rows_at``, e.g. ``@sparse@2000it``) in a folder of their own
    (``sparse-2000it``), their rows beside the default ones in the same
    ``results.json``."""
    return osp.join(default_work_dir(args), rows_at[1:].replace('@', '-')) \
        if rows_at else default_work_dir(args)
