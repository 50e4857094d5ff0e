"""What feature mimic adds to a training step.

    python benchmarks/mimic_overhead.py [--pairs demo paper] [--rounds 10]
        [--device cpu|cuda] [--quick] [--json PATH]

For each teacher/student pair, in one process and interleaved round by round
(medians after warm-up): the student's training step alone, the teacher's
no-grad forward (what the distiller runs of it), and the mimic training step
(``FeatureMimicDistiller.train_step``, SGD update included). It prints

    overhead = mimic_step / (student_step + teacher_forward)

i.e. what the mimic machinery (region sampling, adapter, loss and their
backward) costs beyond running the teacher. Goal: <= 1.05.
"""
import argparse
import os.path as osp
import warnings

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

import mmmimic  # noqa: F401
from mmmimic.registry import build_in_config_scope
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import (
    add_json_arguments,
    check_json_destination,
    interleaved_timings,
    markdown_table,
    synthetic_batch,
    write_json,
)
from mmmimic.utils.cli import int_at_least, positive_int, torch_device

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs')
# name: (student config, mimic config, (height, width), batch size)
PAIRS = {
    'demo': ('demo/faster-rcnn_mobilenetv2-w0.5_demo-caltech.py',
             'demo/mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py',
             (480, 640), 2),
    'paper': ('students/faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py',
              'mimic/mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_'
              '60k_caltech.py', (480, 640), 2),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', nargs='+', choices=list(PAIRS),
                        default=list(PAIRS))
    parser.add_argument('--rounds', type=positive_int, default=10)
    parser.add_argument('--warmup', type=int_at_least(0), default=2)
    parser.add_argument('--device', type=torch_device, default='cpu')
    parser.add_argument('--quick', action='store_true',
                        help='small images, 2 rounds, 1 warm-up (for tests)')
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    return args


def build(config: str, device: str):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    model_cfg = cfg.model
    if 'teacher_ckpt' in model_cfg:
        model_cfg.teacher_ckpt = None   # timing only: initial weights
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = build_in_config_scope(cfg)
    return model.to(device).train()


def measure(name: str, args) -> tuple:
    """The figures of pair ``name`` (medians, IQRs, overhead) for the JSON
    file, and its :class:`~mmmimic.utils.benchmark.Timing` per step for the
    table."""
    student_cfg, mimic_cfg, size, batch_size = PAIRS[name]
    if args.quick:
        size = (96, 128)
    torch.manual_seed(0)
    student = build(student_cfg, args.device)
    mimic = build(mimic_cfg, args.device)
    teacher = mimic.teacher
    # train_step preprocesses the raw batch (the same cost for both steps)
    data = synthetic_batch(student, batch_size, size, preprocess=False)
    student_opt = OptimWrapper(torch.optim.SGD(student.parameters(), lr=1e-4))
    mimic_opt = OptimWrapper(torch.optim.SGD(mimic.parameters(), lr=1e-4))
    teacher_inputs = mimic.teacher_inputs(
        mimic.data_preprocessor(data, True)['inputs'])

    def teacher_forward():
        with torch.no_grad():
            teacher.extract_feat(teacher_inputs)

    timings = interleaved_timings(
        dict(student_step=lambda: student.train_step(data, student_opt),
             teacher_forward=teacher_forward,
             mimic_step=lambda: mimic.train_step(data, mimic_opt)),
        rounds=2 if args.quick else args.rounds,
        warmup=1 if args.quick else args.warmup, device=args.device)
    times = {key: timing.median for key, timing in timings.items()}
    times.update({f'{key} IQR': [timing.q1, timing.q3]
                  for key, timing in timings.items()})
    times['spread'] = max(timing.spread for timing in timings.values())
    times['overhead'] = times['mimic_step'] / (times['student_step'] +
                                                times['teacher_forward'])
    times.update(pair=name, size=f'{size[1]}x{size[0]}', batch=batch_size)
    return times, timings


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    torch.set_grad_enabled(True)
    measured = [measure(name, args) for name in args.pairs]
    results = [times for times, _ in measured]
    header = ['pair', 'input', 'batch', 'student step (ms)',
              'teacher forward (ms)', 'mimic step (ms)', 'overhead']
    rows = [[r['pair'], r['size'], r['batch']] + [
        str(timings[key]) for key in ('student_step', 'teacher_forward',
                                      'mimic_step')] + [r['overhead']]
        for r, timings in measured]
    print(f'device: {args.device}, threads: {torch.get_num_threads()}; ms: '
          'median [interquartile range] of the interleaved rounds')
    print(markdown_table(header, rows))
    print(f'largest spread (IQR / median) of a time: '
          f'{100 * max(r["spread"] for r in results):.1f} %')
    print('overhead = mimic step / (student step + teacher forward); goal '
          '<= 1.05')
    write_json(args.json, dict(device=args.device,
                               threads=torch.get_num_threads(),
                               results=results))


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
