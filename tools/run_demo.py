"""The bundled demo: teacher, student alone and mimic student on a generated
Caltech-format dataset, through the real tools, ending with a comparison.

    python tools/run_demo.py [--quick] [--work-dir work_dirs/demo]

1. writes the procedural raw dataset (``.seq`` + ``.vbb``) and converts it with
   ``tools/dataset_converters/caltech.py`` (skipped when present);
2. trains the teacher, the half-width student alone and the same student by
   feature mimic with ``tools/train.py`` (a finished checkpoint is reused);
3. tests each with ``tools/test.py`` and scores the predictions with
   ``CaltechMRMetric`` (Reasonable, 640x480);
4. prints the table (parameters, GFLOPs, CPU latency, MR-2) and writes it with
   the three MR-FPPI curves (one PNG) into the work dir.

``--quick`` uses a tiny dataset and a few iterations (for tests); its numbers
mean nothing.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
import time
from typing import Dict, List

import mmcv
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmmimic  # noqa: E402,F401  (dependency check first)

# isort: split
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmmimic.evaluation import evaluate_predictions, save_mr_curves  # noqa: E402
from mmmimic.registry import MODELS  # noqa: E402
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.benchmark import complexity as model_complexity  # noqa: E402
from mmmimic.utils.benchmark import predict_ms  # noqa: E402
from mmmimic.utils.safe_load import safe_load_checkpoint  # noqa: E402
from mmmimic.utils.student_export import student_state_dict  # noqa: E402

CONFIGS = osp.join(REPO, 'configs', 'demo')
RUNS = [
    # name, config, role
    ('teacher (w16)', 'faster-rcnn_r18-c3-w16_demo-caltech.py', 'teacher'),
    ('student alone (w8)', 'faster-rcnn_r18-c3-w8_demo-caltech.py', 'student'),
    ('student + mimic (w8)', 'mimic_faster-rcnn_r18-c3-w8-w16_demo-caltech.py',
     'mimic'),
]
TEST_ANN = osp.join('annotations', 'test-3x.json')   # every 10th test frame


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run the feature mimic demo')
    parser.add_argument('--quick', action='store_true',
                        help='tiny data and a few iterations (a smoke test)')
    parser.add_argument('--work-dir', help='default: work_dirs/demo[-quick]')
    parser.add_argument('--data-dir', help='default: data/demo_caltech[-quick]')
    parser.add_argument('--iters', type=int,
                        help='training iterations per model (default: the '
                        'configs\' 1000; 8 with --quick)')
    return parser.parse_args()


def run(cmd: List[str], log_path: str) -> None:
    """Run a tool, its output into ``log_path``; fail loudly with the tail."""
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable] + cmd, cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-4000:]
        raise SystemExit(f'{" ".join(cmd)} failed (log: {log_path}):\n{tail}')
    print(f'  done in {time.monotonic() - start:.0f} s (log: '
          f'{osp.relpath(log_path, REPO)})', flush=True)


def prepare_data(args, data_dir: str, work_dir: str) -> None:
    raw = data_dir + '_raw'
    frames = ['--videos', '1', '--train-frames', '15', '--test-frames', '60'] \
        if args.quick else []
    print(f'[1/4] demo dataset: {raw} -> {data_dir}', flush=True)
    run([osp.join('tools', 'dataset_converters', 'make_demo_caltech.py'), raw] +
        frames, osp.join(work_dir, 'make_data.log'))
    if not osp.isfile(osp.join(data_dir, TEST_ANN)):
        run([osp.join('tools', 'dataset_converters', 'caltech.py'), raw,
             data_dir, '--train-skip', '3', '--test-skip', '10'],
            osp.join(work_dir, 'convert.log'))


def data_options(data_dir: str) -> List[str]:
    root = osp.abspath(data_dir) + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}{TEST_ANN}',
        f'test_evaluator.ann_file={root}{TEST_ANN}',
    ]


def train_all(args, data_dir: str, work_dir: str) -> Dict[str, str]:
    iters = args.iters or (8 if args.quick else None)
    checkpoints = {}
    print('[2/4] training', flush=True)
    for name, config, role in RUNS:
        run_dir = osp.join(work_dir, role)
        cfg_iters = iters or Config.fromfile(osp.join(
            CONFIGS, config)).train_cfg.max_iters
        ckpt = osp.join(run_dir, f'iter_{cfg_iters}.pth')
        if osp.isfile(ckpt):
            print(f'  {name}: reusing {osp.relpath(ckpt, REPO)}')
            checkpoints[role] = ckpt
            continue
        options = data_options(data_dir) + [
            f'train_cfg.max_iters={cfg_iters}',
            # no validation at the end: tools/test.py follows
            f'train_cfg.val_begin={cfg_iters + 1}',
        ]
        if role == 'mimic':
            options.append(f"model.teacher_ckpt={checkpoints['teacher']}")
        print(f'  {name}: {config}, {cfg_iters} iterations', flush=True)
        run([osp.join('tools', 'train.py'), osp.join(CONFIGS, config),
             '--work-dir', run_dir, '--cfg-options'] + options,
            osp.join(work_dir, f'train_{role}.log'))
        checkpoints[role] = ckpt
    return checkpoints


def evaluate_all(data_dir: str, work_dir: str, checkpoints: Dict[str, str]):
    print('[3/4] testing', flush=True)
    ann_file = osp.join(data_dir, TEST_ANN)
    results = {}
    for name, config, role in RUNS:
        out = osp.join(work_dir, role, 'predictions.pkl')
        options = data_options(data_dir)
        if role == 'mimic':   # the distiller builds its teacher even to test
            options.append(f"model.teacher_ckpt={checkpoints['teacher']}")
        print(f'  {name}', flush=True)
        run([osp.join('tools', 'test.py'), osp.join(CONFIGS, config),
             checkpoints[role], '--work-dir', osp.join(work_dir, role),
             '--out', out, '--cfg-options'] + options,
            osp.join(work_dir, f'test_{role}.log'))
        with open(out, 'rb') as f:
            predictions = pickle.load(f)
        results[role] = evaluate_predictions(ann_file, predictions)['Reasonable']
    return results


def student_model(config: str, checkpoint: str):
    """The deployable model of a config with its trained weights: for a
    distiller, its student (training-only modules dropped)."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    if cfg.model.type == 'FeatureMimicDistiller':
        # the mimic student's deployed architecture is the student-alone config
        student_config = next(c for _, c, role in RUNS if role == 'student')
        cfg.model = Config.fromfile(osp.join(CONFIGS, student_config)).model
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    state, _ = student_state_dict(safe_load_checkpoint(checkpoint))
    model.load_state_dict(state)
    return model.eval()


def first_test_image(data_dir: str) -> torch.Tensor:
    """The first test image, (3, H, W) uint8 BGR as the pipeline loads it."""
    with open(osp.join(data_dir, TEST_ANN)) as f:
        name = json.load(f)['images'][0]['file_name']
    img = mmcv.imread(osp.join(data_dir, 'images', name))
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def complexity(config: str, checkpoint: str, image: torch.Tensor,
               repeats: int = 10) -> Dict[str, float]:
    """Parameters (M), GFLOPs and CPU latency (ms) of the trained model on one
    640x480 test image (the RoI head's cost follows the proposals it keeps)."""
    model = student_model(config, checkpoint)
    shape = tuple(image.shape[-2:])
    stats = model_complexity(model, shape, image)
    latency = predict_ms(model, shape, repeats, warmup=2, image=image)
    return dict(stats, latency_ms=latency)


def report(results, data_dir: str, work_dir: str, checkpoints: Dict[str, str],
           quick: bool) -> str:
    print('[4/4] comparison', flush=True)
    rows = []
    teacher = None
    image = first_test_image(data_dir)
    for name, config, role in RUNS:
        stats = complexity(config, checkpoints[role], image,
                           repeats=3 if quick else 20)
        mr = 100 * results[role].mr
        if role == 'teacher':
            teacher = dict(stats, mr=mr)
        rows.append((name, stats, mr))
    header = ('| model | params (M) | GFLOPs | CPU ms / image | speed-up | '
              'MR-2 Reasonable (%) | MR - teacher MR |')
    lines = [header, '|' + '---|' * 7]
    for name, stats, mr in rows:
        lines.append(
            f"| {name} | {stats['params']:.3f} | {stats['gflops']:.2f} | "
            f"{stats['latency_ms']:.1f} | "
            f"{teacher['latency_ms'] / stats['latency_ms']:.1f}x | {mr:.2f} | "
            f"{mr - teacher['mr']:+.2f} |")
    table = '\n'.join(lines)
    curves = {name: results[role] for name, _, role in RUNS}
    png = osp.join(work_dir, 'mr_fppi_demo.png')
    save_mr_curves(curves, png)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump({name: dict(stats, mr=mr) for name, stats, mr in rows}, f,
                  indent=2)
    print(table)
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
    start = time.monotonic()
    prepare_data(args, data_dir, work_dir)
    checkpoints = train_all(args, data_dir, work_dir)
    results = evaluate_all(data_dir, work_dir, checkpoints)
    report(results, data_dir, work_dir, checkpoints, args.quick)
    print(f'demo finished in {(time.monotonic() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
