"""Inference speed of the teacher and its students.

    python benchmarks/student_speed.py [--sizes 640x480 1500x1000]
        [--device cpu|cuda] [--repeats 10] [--quick] [--json PATH]

Per image (batch 1, preprocessing included; the models interleaved round
after round, median and interquartile range of the rounds): latency,
images per second, GFLOPs and parameters of the Inception-v3 Faster R-CNN
teacher (on the CPU also each model as one ONNX file in ONNX Runtime, when
onnx and onnxruntime are installed), the 1/2, 1/4 and 1/8-Inception students
and the half-input 1/2 student, with the speed-up over the teacher, at each
input size. The paper's reference points: a 2.5x faster Inception student
competitive with the teacher, 80 FPS at 1000x1500 for its fastest student (on a GPU).
"""
import argparse
import importlib.util
import os.path as osp

import torch

import mmmimic  # noqa: F401
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import (
    add_json_arguments,
    check_json_destination,
    complexity,
    cpu_description,
    initial_checkpoint,
    interleaved_timings,
    markdown_table,
    model_with_initial_weights,
    predict_fn,
    write_json,
)
from mmmimic.utils.cli import image_size, positive_int, torch_device

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs')
MODELS_TO_TIME = [
    ('teacher (Inception-v3)',
     'teachers/faster-rcnn_inception-v3-s16_60k_caltech.py'),
    ('1/2-Inception', 'students/faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py'),
    ('1/4-Inception',
     'students/faster-rcnn_inception-v3-w0.25-s16_60k_caltech.py'),
    ('1/8-Inception',
     'students/faster-rcnn_inception-v3-w0.125-s16_60k_caltech.py'),
    ('1/2-Inception, half input',
     'students/faster-rcnn_inception-v3-w0.5-s16-halfinput_60k_caltech.py'),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', nargs='+', type=image_size(32, 8192),
                        default=['640x480', '1500x1000'],
                        help='input sizes WxH, 32-8192 each')
    parser.add_argument('--repeats', type=positive_int, default=10,
                        help='timed rounds, every model once per round')
    parser.add_argument('--device', type=torch_device, default='cpu')
    parser.add_argument('--quick', action='store_true',
                        help='one small size, 2 rounds, the teacher and the '
                        '1/2 student (for tests)')
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    return args


def onnx_runtime_timings(to_time, size, repeats: int, threads: int) -> dict:
    """Each (name, config) of ``to_time`` (initial weights, saved to a
    temporary checkpoint) as its one ONNX file in ONNX Runtime on the CPU,
    interleaved round after round: model name -> its
    :class:`~mmmimic.utils.benchmark.Timing`."""
    import tempfile

    from mmmimic.deployment.latency import deployed_stats
    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for name, config in to_time:
            config = osp.join(CONFIGS, config)
            models[name] = (config, initial_checkpoint(
                config, osp.join(tmp, f'{len(models)}.pth')))
        image = torch.randint(0, 255, (3, height, width), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(0))
        stats = deployed_stats(models, image, repeats, threads)
    return {name: st['timings']['onnx'] for name, st in stats.items()}


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    to_time = MODELS_TO_TIME
    if args.quick:   # the teacher and one student: every code path
        args.sizes, args.repeats, to_time = ['160x120'], 2, MODELS_TO_TIME[:2]
    onnx = args.device == 'cpu' and all(
        importlib.util.find_spec(m) is not None
        for m in ('onnx', 'onnxruntime'))
    results, rows, spreads = [], [], []
    for size in args.sizes:
        width, height = (int(v) for v in size.split('x'))
        ort = onnx_runtime_timings(to_time, (width, height), args.repeats,
                                   torch.get_num_threads()) if onnx else {}
        models = {name: model_with_initial_weights(
            osp.join(CONFIGS, config), args.device) for name, config in to_time}
        timings = interleaved_timings(
            {name: predict_fn(model, (height, width), args.device)
             for name, model in models.items()}, args.repeats,
            1 if args.quick else 2, args.device)
        teacher = to_time[0][0]
        for name, config in to_time:
            stats = complexity(models[name], (height, width))
            ms = timings[name].median
            speedup = timings[teacher].median / ms
            result = dict(size=size, model=name, config=config, ms=ms,
                          iqr=[timings[name].q1, timings[name].q3],
                          fps=1000 / ms, speedup=speedup, **stats)
            row = [size, name, stats['params'], stats['gflops'],
                   str(timings[name]), 1000 / ms, speedup]
            spreads.append(timings[name].spread)
            if onnx:
                result.update(onnx_ms=ort[name].median,
                              onnx_iqr=[ort[name].q1, ort[name].q3],
                              onnx_speedup=ort[teacher].median /
                              ort[name].median)
                row += [str(ort[name]), result['onnx_speedup']]
                spreads.append(ort[name].spread)
            results.append(result)
            rows.append(row)
        del models
    device = torch.cuda.get_device_name(0) if args.device.startswith('cuda') \
        else f'{cpu_description()}, {torch.get_num_threads()} thread(s)'
    print(f'device: {device}; batch 1, preprocessing and NMS included; ms: '
          f'median [interquartile range] of {args.repeats} interleaved '
          'rounds; initial weights')
    print(markdown_table(['input', 'model', 'params (M)', 'GFLOPs', 'ms / image',
                          'images / s', 'speed-up'] + (
                              ['ONNX Runtime ms', 'speed-up (ONNX Runtime)']
                              if onnx else []), rows))
    print(f'largest spread (IQR / median) of a row: {100 * max(spreads):.1f} '
          '%')
    write_json(args.json, dict(device=device, rounds=args.repeats,
                               results=results))


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
