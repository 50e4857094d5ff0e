"""Inference speed of the teacher and its students.

    python benchmarks/student_speed.py [--sizes 640x480 1500x1000]
        [--device cpu|cuda] [--repeats 10] [--quick] [--json PATH]

Per image (batch 1, preprocessing included, median after warm-up): latency,
images per second, GFLOPs and parameters of the Inception-v3 Faster R-CNN
teacher (on the CPU also each model as one ONNX file in ONNX Runtime, the
models interleaved round after round, when onnx and onnxruntime are
installed), the 1/2, 1/4 and 1/8-Inception students and the half-input 1/2
student, with the speed-up over the teacher, at each input size. The paper's
reference points: a 2.5x faster Inception student competitive with the teacher,
80 FPS at 1000x1500 for its fastest student (on a GPU).
"""
import argparse
import importlib.util
import os.path as osp

import torch
from mmengine.config import Config

import mmmimic  # noqa: F401
from mmmimic.registry import build_in_config_scope
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import (
    add_json_arguments,
    check_json_destination,
    complexity,
    markdown_table,
    predict_ms,
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
    parser.add_argument('--repeats', type=positive_int, default=10)
    parser.add_argument('--device', type=torch_device, default='cpu')
    parser.add_argument('--quick', action='store_true',
                        help='one small size, 1 repeat (for tests)')
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    return args


def build(config: str, device: str):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.model.backbone.init_cfg = None     # no download: timing only
    model = build_in_config_scope(cfg)
    return model.to(device).eval()


def onnx_runtime_ms(size, repeats: int, threads: int) -> dict:
    """Each model of :data:`MODELS_TO_TIME` (initial weights, saved to a
    temporary checkpoint) as its one ONNX file in ONNX Runtime on the CPU,
    interleaved round after round: model name -> ms per image."""
    import tempfile

    from mmmimic.deployment.latency import deployed_stats
    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for name, config in MODELS_TO_TIME:
            ckpt = osp.join(tmp, f'{len(models)}.pth')
            torch.save(dict(state_dict=build(config, 'cpu').state_dict()),
                       ckpt)
            models[name] = (osp.join(CONFIGS, config), ckpt)
        image = torch.randint(0, 255, (3, height, width), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(0))
        stats = deployed_stats(models, image, repeats, threads)
    return {name: st['onnx_latency_ms'] for name, st in stats.items()}


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    if args.quick:
        args.sizes, args.repeats = ['160x120'], 1
    onnx = args.device == 'cpu' and all(
        importlib.util.find_spec(m) is not None
        for m in ('onnx', 'onnxruntime'))
    results, rows = [], []
    for size in args.sizes:
        width, height = (int(v) for v in size.split('x'))
        teacher_ms = None
        ort_ms = onnx_runtime_ms((width, height), args.repeats,
                                 torch.get_num_threads()) if onnx else {}
        for name, config in MODELS_TO_TIME:
            model = build(config, args.device)
            stats = complexity(model, (height, width))
            ms = predict_ms(model, (height, width), args.repeats,
                            1 if args.quick else 2, args.device)
            teacher_ms = teacher_ms or ms
            result = dict(size=size, model=name, config=config, ms=ms,
                          fps=1000 / ms, speedup=teacher_ms / ms, **stats)
            row = [size, name, stats['params'], stats['gflops'], ms,
                   1000 / ms, teacher_ms / ms]
            if onnx:
                reference = ort_ms[MODELS_TO_TIME[0][0]]
                result.update(onnx_ms=ort_ms[name],
                              onnx_speedup=reference / ort_ms[name])
                row += [ort_ms[name], reference / ort_ms[name]]
            results.append(result)
            rows.append(row)
    device = torch.cuda.get_device_name(0) if args.device.startswith('cuda') \
        else f'CPU, {torch.get_num_threads()} threads'
    print(f'device: {device}; batch 1, preprocessing and NMS included')
    print(markdown_table(['input', 'model', 'params (M)', 'GFLOPs', 'ms / image',
                          'images / s', 'speed-up'] + (
                              ['ONNX Runtime ms', 'speed-up (ONNX Runtime)']
                              if onnx else []), rows))
    write_json(args.json, dict(device=device, results=results))


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
