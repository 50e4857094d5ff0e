"""The deployed teacher and students in PyTorch and in ONNX Runtime, and
where their time goes, stage by stage.

    python benchmarks/deploy_speed.py [--demo-dir work_dirs/demo] [--seed 0]
        [--models NAME=CONFIG[:CHECKPOINT] ...] [--sizes 640x480 1500x1000]
        [--rounds 30] [--threads 1] [--int8 [--float-backbone]]
        [--preprocess-in-graph] [--quick] [--json PATH]

Each model is exported with ``tools/deployment/export_onnx.py``'s code at
each size; then, round after round, every model predicts the same image in
PyTorch (``model.predict``, mmdet's path, preprocessing included) and in ONNX
Runtime (the one file, numpy preprocessing included), so that the speed-ups
over the teacher are ratios measured under the same conditions. Then the
stages (backbone and neck, RPN head, RPN proposals and NMS, RoI extraction,
RoI head, final NMS): in PyTorch the exported graph's own steps timed in
eager mode, in ONNX Runtime its profiler's kernel times grouped by stage.
``--int8`` also quantizes each file (``tools/deployment/quantize_onnx.py``,
64 images of the demo's training split) and times it in the same rounds;
``--preprocess-in-graph`` also times each file with its preprocessing in the
graph (``export_onnx.py --preprocess-in-graph``: the uint8 image in).

Every time is the median of the rounds with its interquartile range; models
of one architecture (the student alone and the mimic student) must take the
same time, so their difference is printed beside the spread: a table whose
pair differs by more than its spread cannot resolve effects of that size.

By default the models are the demo's shipped teacher and the student alone
and mimic student of ``--demo-dir``'s ``--seed`` run (``tools/run_demo.py``),
on the demo's first test image resized to each size; without a demo run the
students have their initial weights (their RoI head then sees whatever
proposals those give: the row says so). ``--models NAME=CONFIG`` without a
checkpoint times a config's model with its initial weights (seeded), which is
enough for speed: the paper's Inception-v3 pair, for instance.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmmimic  # noqa: E402,F401

# isort: split
from mmmimic.deployment import OnnxTwoStageGraph  # noqa: E402
from mmmimic.deployment.latency import (  # noqa: E402
    deployed_stats,
)
from mmmimic.deployment.onnx_graph import STAGES  # noqa: E402
from mmmimic.deployment.onnx_profile import (  # noqa: E402
    UNMAPPED,
    onnx_predict_fn,
    onnx_session,
    stage_profile,
)
from mmmimic.models.distillers.student_export import (  # noqa: E402
    deployed_model,
)
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.benchmark import (  # noqa: E402
    add_json_arguments,
    check_json_destination,
    cpu_description,
    initial_checkpoint,
    markdown_table,
    same_architecture_check,
    write_json,
)
from mmmimic.utils.cli import (  # noqa: E402
    image_size,
    int_at_least,
    positive_int,
)

DEMO = osp.join(REPO, 'configs', 'demo')
TEACHER = ('teacher', osp.join(
    DEMO, 'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py'), osp.join(
        REPO, 'checkpoints', 'demo',
        'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.pth'))
STUDENTS = [
    ('student alone', 'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py',
     'student'),
    ('mimic student',
     'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py', 'mimic'),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--demo-dir', default=osp.join(REPO, 'work_dirs',
                                                       'demo'),
                        help='a tools/run_demo.py work dir (its students '
                        'of --seed)')
    parser.add_argument('--seed', type=int_at_least(0), default=0,
                        help='which seed\'s students of --demo-dir')
    parser.add_argument('--data-dir', default=osp.join(REPO, 'data',
                                                       'demo_caltech'),
                        help='the demo data (its first test image)')
    parser.add_argument('--models', nargs='+', metavar='NAME=CONFIG[:CKPT]',
                        type=model_spec,
                        help='time these instead (the first is the '
                        'reference of the speed-ups); without :CKPT the '
                        'model has its initial weights (seed 0)')
    parser.add_argument('--sizes', nargs='+', type=image_size(32, 8192),
                        default=['640x480', '1500x1000'],
                        help='input sizes WxH, 32-8192 each')
    parser.add_argument('--rounds', type=positive_int, default=30,
                        help='timed rounds, every model once per round '
                        '(default 30)')
    parser.add_argument('--int8', action='store_true',
                        help='also quantize each ONNX file to INT8 and time '
                        'it (calibrated on --data-dir\'s training split)')
    parser.add_argument('--float-backbone', action='store_true',
                        help='with --int8: quantize the heads only, the '
                        'backbone and neck left in float')
    parser.add_argument('--preprocess-in-graph', action='store_true',
                        help='also time each ONNX file (FP32, INT8) with '
                        'its preprocessing in the graph')
    parser.add_argument('--threads', type=positive_int, default=1)
    parser.add_argument('--quick', action='store_true',
                        help='one small size, 2 rounds (for tests)')
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    names = [name for name, _, _ in args.models or []]
    if len(set(names)) < len(names):
        parser.error(f'--models: each NAME once (given: {", ".join(names)})')
    if args.rounds < 1 or args.threads < 1:
        parser.error('--rounds and --threads are at least 1')
    if args.float_backbone and not args.int8:
        parser.error('--float-backbone chooses what --int8 quantizes: give '
                     '--int8 too')
    return args


RUNTIMES = {'torch': 'PyTorch', 'onnx': 'ONNX Runtime',
            'int8': 'ONNX Runtime INT8',
            'onnx_in_graph': 'ONNX Runtime, preprocessing in graph',
            'int8_in_graph': 'ONNX Runtime INT8, preprocessing in graph'}
#: the teacher's runtime each runtime's speed-up is over: INT8 over FP32
BASE = {'int8': 'onnx', 'int8_in_graph': 'onnx_in_graph'}


def model_spec(text: str) -> tuple:
    """``NAME=CONFIG[:CKPT]`` as (name, config, checkpoint or None); the
    files must exist."""
    name, eq, rest = text.partition('=')
    if not eq or not name or not rest:
        raise argparse.ArgumentTypeError(
            f'{text!r}: write NAME=CONFIG or NAME=CONFIG:CHECKPOINT')
    config, colon, ckpt = rest.rpartition(':')
    if not colon or not config.endswith('.py'):
        config, ckpt = rest, None
    for path in (config, ckpt):
        if path is not None and not osp.isfile(path):
            raise argparse.ArgumentTypeError(f'{text!r}: {path} is not a file')
    return name, config, ckpt


def calibration_options(args) -> dict:
    """``cfg_options`` pointing the configs' training set at --data-dir."""
    return {'train_dataloader.dataset.data_root':
            osp.abspath(args.data_dir) + '/'}


def same_architecture(built: dict) -> list:
    """Groups of names whose deployed models have the same architecture
    (the same module types and parameter shapes, weights aside)."""
    groups: dict = {}
    for name, model in built.items():
        signature = (tuple(type(m).__name__ for m in model.modules()),
                     tuple((k, tuple(v.shape))
                           for k, v in model.state_dict().items()))
        groups.setdefault(signature, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def default_models(args, tmp: str):
    """(name, config, checkpoint) of the teacher and the demo students."""
    models = [TEACHER]
    for name, config, role in STUDENTS:
        ckpt = osp.join(args.demo_dir, f'seed{args.seed}', role,
                        'iter_500.pth')
        config = osp.join(DEMO, config)
        if not osp.isfile(ckpt):
            config = osp.join(DEMO, STUDENTS[0][1])
            ckpt = initial_checkpoint(config, osp.join(tmp, f'{role}.pth'))
            name = f'{name} (initial weights)'
        models.append((name, config, ckpt))
    return models


def test_image(data_dir: str, size) -> np.ndarray:
    """(H, W, 3) uint8 BGR: the demo's first test image resized to ``size``
    (W, H), or seeded noise without the demo data."""
    import cv2
    ann = osp.join(data_dir, 'annotations', 'test-6x.json')
    if osp.isfile(ann):
        with open(ann) as f:
            name = json.load(f)['images'][0]['file_name']
        image = cv2.imread(osp.join(data_dir, 'images', name))
        return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)


def torch_stages(model, image: np.ndarray, rounds: int) -> dict:
    """Median ms per stage of the exported graph's steps in eager PyTorch."""
    from mmdet.structures import DetDataSample
    height, width = image.shape[:2]
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                scale_factor=(1.0, 1.0))
    tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    # normalised and padded, not resized: the graph resizes a half-input
    # student's image itself (OnnxTwoStageGraph.scaled_input), as the file does
    from mmdet.models.data_preprocessors import DetDataPreprocessor
    pre = model.data_preprocessor
    forward = DetDataPreprocessor.forward if isinstance(
        pre, DetDataPreprocessor) else type(pre).forward
    with torch.no_grad():
        inputs = forward(pre, dict(inputs=[tensor], data_samples=[
            DetDataSample(metainfo=meta)]), False)['inputs']
    graph = OnnxTwoStageGraph(model, tuple(inputs.shape[-2:])).eval()
    with torch.no_grad():
        graph.timed_forward(inputs, time.perf_counter)
        laps = [graph.timed_forward(inputs, time.perf_counter)[1]
                for _ in range(rounds)]
    return {s: 1000 * float(np.median([lap[s] for lap in laps]))
            for s in STAGES}


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.sizes, args.rounds = ['320x240'], 2
    totals, stage_rows, results, spreads, checks = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        if args.models:
            models = [(name, config, ckpt) if ckpt else (
                f'{name} (initial weights)', config, initial_checkpoint(
                    config, osp.join(tmp, f'initial{i}.pth')))
                for i, (name, config, ckpt) in enumerate(args.models)]
        else:
            models = default_models(args, tmp)
        built = {name: deployed_model(config, ckpt)
                 for name, config, ckpt in models}
        reference = models[0][0]
        for size in args.sizes:
            width, height = (int(v) for v in size.split('x'))
            image = test_image(args.data_dir, (width, height))
            tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
            onnx_dir = osp.join(tmp, size)
            os.makedirs(onnx_dir)
            stats = deployed_stats(
                {name: (config, ckpt) for name, config, ckpt in models},
                tensor, args.rounds, args.threads, onnx_dir=onnx_dir,
                int8=calibration_options(args) if args.int8 else None,
                in_graph=args.preprocess_in_graph,
                float_backbone=args.float_backbone)
            timings = {name: st['timings'] for name, st in stats.items()}
            for name, _, _ in models:
                row = dict(size=size, model=name, params=stats[name]['params'],
                           gflops=stats[name]['gflops'])
                line = [size, name]
                for key, runtime in RUNTIMES.items():
                    if key not in timings[name]:
                        continue
                    timing = timings[name][key]
                    row[runtime] = timing.median
                    row[f'{runtime} IQR'] = [timing.q1, timing.q3]
                    base = timings[reference][BASE.get(key, key)]
                    row[f'{runtime} speed-up'] = base.median / timing.median
                    line += [str(timing), row[f'{runtime} speed-up']]
                totals.append(line)
                spreads.append(max(t.spread for t in timings[name].values()))
                path = stats[name]['onnx_path']   # the file just timed
                pt = torch_stages(built[name], image, args.rounds)
                feed = onnx_predict_fn(onnx_session(path, 1), image).prepare
                ort_stages = stage_profile(path, feed, args.rounds,
                                           args.threads)
                row['stages'] = dict(PyTorch=pt, ONNX_Runtime=ort_stages)
                profiled = [('PyTorch', pt), ('ONNX Runtime', ort_stages)]
                if 'int8_path' in stats[name]:   # the INT8 file just timed
                    int8_path = stats[name]['int8_path']
                    feed = onnx_predict_fn(onnx_session(int8_path, 1),
                                           image).prepare
                    row['stages']['ONNX_Runtime_INT8'] = stage_profile(
                        int8_path, feed, args.rounds, args.threads)
                    profiled.append(('ONNX Runtime INT8',
                                     row['stages']['ONNX_Runtime_INT8']))
                for runtime, stages in profiled:
                    stage_rows.append([size, name, runtime] + [
                        stages[s] for s in STAGES] + [
                            stages.get(UNMAPPED, 0.0), sum(stages.values())])
                results.append(row)
            for key in timings[reference]:
                same = same_architecture_check(
                    {name: timings[name][key] for name in timings},
                    same_architecture(built))
                checks += [[size, RUNTIMES[key], a, b, 100 * diff, 100 * spread]
                           for a, b, diff, spread in same]
    print(f'{cpu_description()}, {args.threads} thread(s); batch 1, '
          f'preprocessing included; ms: median [interquartile range] of '
          f'{args.rounds} interleaved rounds; speed-up over the FP32 '
          f'{models[0][0]} in the same runtime (INT8: over the FP32 '
          f'{models[0][0]} in ONNX Runtime, with the same preprocessing)')
    header = ['input', 'model']
    for runtime in RUNTIMES.values():
        if any(runtime in r for r in results):
            header += [f'{runtime} ms', 'speed-up']
    print(markdown_table(header, totals))
    print(f'largest spread (IQR / median) of a row: {100 * max(spreads):.1f} '
          '%')
    if checks:
        print('\nsame architecture, so the same time expected: difference '
              'of medians against the larger spread')
        print(markdown_table(['input', 'runtime', 'model', 'model',
                              'difference %', 'spread %'], checks))
    print('\nms per stage (PyTorch: the graph\'s steps in eager mode; ONNX '
          'Runtime, FP32 and INT8: profiler kernel times)')
    print(markdown_table(['input', 'model', 'runtime'] + list(STAGES) +
                         [UNMAPPED, 'sum'], stage_rows))
    write_json(args.json, dict(threads=args.threads, rounds=args.rounds,
                               machine=cpu_description(), results=results))


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
