"""Measurement helpers shared by ``benchmarks/`` and the demo
(``mmmimic.demo``, ``tools/run_demo.py``)."""
import logging
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import MMLogger


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on CPU)."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU if none)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device('cpu')


@dataclass(frozen=True)
class Timing:
    """Wall times of one function over interleaved rounds, in ms.

    Attributes:
        median, q1, q3, low, high (float): The median, quartiles, minimum and
            maximum over the rounds.
        rounds (int): How many timed calls.
    """
    median: float
    q1: float
    q3: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> 'Timing':
        ms = sorted(1000 * s for s in seconds)
        # 'inclusive': quartiles inside the range (numpy's default); the
        # 'exclusive' default extrapolates beyond it for a few rounds
        q1, _, q3 = statistics.quantiles(ms, n=4, method='inclusive') \
            if len(ms) > 1 else (ms[0], ms[0], ms[0])
        return cls(statistics.median(ms), q1, q3, ms[0], ms[-1], len(ms))

    @property
    def spread(self) -> float:
        """The interquartile range relative to the median (0.05: 5 %)."""
        return (self.q3 - self.q1) / self.median if self.median else 0.0

    def __str__(self) -> str:
        return f'{self.median:.1f} [{self.q1:.1f}-{self.q3:.1f}]'


def interleaved_timings(fns: Dict[Any, Callable[[], object]],
                        rounds: int = 10, warmup: int = 2,
                        device: str = 'cpu') -> Dict[Any, Timing]:
    """Several functions timed in turn, round after round, so that slow
    drifts of the machine (clocks, other load) affect all alike; each
    function's median, quartiles and range over the rounds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[Any, List[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: Timing.of(t) for name, t in times.items()}


def timing(fn: Callable[[], object], rounds: int = 10, warmup: int = 2,
           device: str = 'cpu') -> Timing:
    """The :class:`Timing` of ``fn()`` alone over ``rounds`` calls after
    ``warmup`` calls: :func:`interleaved_timings` of one function."""
    return interleaved_timings({None: fn}, rounds, warmup, device)[None]


def interleaved_ms(fns: Dict[Any, Callable[[], object]], rounds: int = 10,
                   warmup: int = 2, device: str = 'cpu') -> Dict[Any, float]:
    """The medians of :func:`interleaved_timings`, in ms."""
    return {name: timing.median for name, timing in interleaved_timings(
        fns, rounds, warmup, device).items()}


def same_architecture_check(timings: Dict[str, Timing],
                            groups: Sequence[Sequence[str]]
                            ) -> List[Tuple[str, str, float, float]]:
    """For models of one architecture (their times should be equal): each
    pair's difference of medians relative to the first's, and the larger
    spread of the two. A difference beyond the spread means the measurement
    cannot resolve effects of that size.

    Returns:
        list: ``(a, b, difference, spread)`` per pair.
    """
    checks = []
    for group in groups:
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                a, b = timings[first], timings[second]
                checks.append((first, second,
                               abs(a.median - b.median) / a.median,
                               max(a.spread, b.spread)))
    return checks


def synthetic_batch(model, batch_size: int = 2,
                    size: Tuple[int, int] = (480, 640), boxes: int = 4,
                    seed: int = 0, training: bool = True,
                    preprocess: bool = True) -> dict:
    """A batch of noise images with bright upright boxes (class 0).

    Args:
        model: A detector; its ``data_preprocessor`` prepares the batch.
        size (tuple[int, int]): (height, width) of each image.
        preprocess (bool): False returns the raw batch (what ``train_step``
            takes): a list of (3, H, W) uint8 images.

    Returns:
        dict: ``inputs`` (B, 3, H', W') and ``data_samples``.
    """
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    height, width = size
    images, samples = [], []
    for i in range(batch_size):
        image = torch.randint(0, 80, (3, height, width), generator=g,
                              dtype=torch.uint8)
        rows = []
        for _ in range(boxes):
            h = int(torch.randint(max(8, height // 8), max(9, height // 2), (1, ),
                                  generator=g))
            w = max(4, int(h * 0.41))
            x = int(torch.randint(0, max(1, width - w), (1, ), generator=g))
            y = int(torch.randint(0, max(1, height - h), (1, ), generator=g))
            image[:, y:y + h, x:x + w] = 200
            rows.append([x, y, x + w, y + h])
        sample = DetDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width),
            pad_shape=(height, width), scale_factor=(1.0, 1.0), img_id=i))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(rows, dtype=torch.float32).reshape(-1, 4),
            labels=torch.zeros(len(rows), dtype=torch.long))
        images.append(image)
        samples.append(sample)
    raw = dict(inputs=images, data_samples=samples)
    return model.data_preprocessor(raw, training) if preprocess else raw


def complexity(model, size: Tuple[int, int] = (480, 640),
               image: Optional[torch.Tensor] = None) -> Dict[str, float]:
    """Parameters (M) and GFLOPs of one image's forward pass (backbone, neck,
    RPN, RoI head on the proposals), counted as mmdet's ``get_flops.py`` does.

    The RoI head's share depends on how many proposals survive the RPN's NMS:
    on noise (``image=None``) that is whatever the weights make of it; pass a
    real (3, H, W) uint8 BGR ``image`` of ``size`` and trained weights to count
    what deployment costs. A ``ScaledDetDataPreprocessor`` student is counted
    on its resized input.
    """
    from mmdet.structures import DetDataSample
    from mmengine.analysis import get_model_complexity_info
    height, width = size
    scale = getattr(model.data_preprocessor, 'input_scale', 1.0)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    model.eval()
    if image is None:
        # on the model's device: the complexity counter does not move inputs
        inputs = torch.rand(1, 3, h, w, device=model_device(model))
    else:
        meta = dict(img_shape=size, ori_shape=size, scale_factor=(1.0, 1.0))
        with torch.no_grad():
            inputs = model.data_preprocessor(
                dict(inputs=[image], data_samples=[DetDataSample(metainfo=meta)]),
                False)['inputs']
        h, w = inputs.shape[-2:]
    meta = dict(img_shape=(h, w), ori_shape=(height, width), pad_shape=(h, w),
                batch_input_shape=(h, w), scale_factor=(scale, scale))
    samples = [DetDataSample(metainfo=meta)]
    params = sum(p.numel() for p in model.parameters()) / 1e6
    forward = model.forward
    model.forward = partial(forward, data_samples=samples, mode='tensor')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)   # the tracer's notes on unused modules
    try:
        with torch.no_grad():
            info = get_model_complexity_info(
                model, inputs=inputs, show_table=False, show_arch=False)
    finally:
        logger.setLevel(level)
        model.forward = forward
    return dict(params=params, gflops=info['flops'] / 1e9)


def predict_fn(model, size: Tuple[int, int], device: str = 'cpu',
               image: Optional[torch.Tensor] = None) -> Callable[[], None]:
    """A call that makes ``model`` predict one image of ``size`` (preprocessing
    of the raw image included, as at deployment): ``image``, (3, H, W) uint8
    BGR, or noise. For :func:`timing` or :func:`interleaved_timings`."""
    from mmdet.structures import DetDataSample
    height, width = size
    if image is None:
        image = torch.randint(0, 255, (3, height, width), dtype=torch.uint8)
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                scale_factor=(1.0, 1.0))
    model.eval()

    def run():
        data = model.data_preprocessor(
            dict(inputs=[image.to(device)],
                 data_samples=[DetDataSample(metainfo=meta)]), False)
        with torch.no_grad():
            model.predict(data['inputs'], data['data_samples'])

    return run


def predict_ms(model, size: Tuple[int, int], repeats: int = 10,
               warmup: int = 2, device: str = 'cpu',
               image: Optional[torch.Tensor] = None) -> float:
    """Median latency (ms) of ``model`` predicting one image of ``size``
    (see :func:`predict_fn`)."""
    return timing(predict_fn(model, size, device, image), repeats, warmup,
                  device).median


def deployed_complexity(build: Callable[[str, str], torch.nn.Module],
                        models: Dict[str, Tuple[str, str]],
                        image: torch.Tensor, rounds: int = 10,
                        threads: int = 1) -> Dict[str, Dict[str, float]]:
    """Parameters (M), GFLOPs and latency (ms) of each deployed model (name ->
    (config, checkpoint), built by ``build``, e.g.
    :func:`mmmimic.models.distillers.student_export.deployed_model`) on
    ``image``, (3, H, W) uint8 BGR, with ``threads`` CPU threads. The RoI
    head's cost follows the proposals the trained weights keep. Latencies are
    medians of rounds in which every model predicts in turn, so that their
    ratios come from one run under the same conditions."""
    torch.set_num_threads(threads)
    built = {name: build(config, ckpt)
             for name, (config, ckpt) in models.items()}
    shape = tuple(image.shape[-2:])
    stats = {name: complexity(model, shape, image)
             for name, model in built.items()}
    latency = interleaved_ms(
        {name: predict_fn(model, shape, image=image)
         for name, model in built.items()}, rounds, warmup=2)
    return {name: dict(stats[name], latency_ms=latency[name])
            for name in built}


def model_with_initial_weights(config: str, device: str = 'cpu',
                               seed: int = 0) -> torch.nn.Module:
    """The model of the config file ``config`` with its initial weights
    (drawn after ``torch.manual_seed(seed)``; no pretrained backbone read, its
    ``init_cfg`` dropped), in eval mode on ``device``: for timing, where the
    weights do not change the cost."""
    from mmengine.config import Config

    from mmmimic.registry import build_in_config_scope
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(seed)
    return build_in_config_scope(cfg).to(device).eval()


def initial_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save :func:`model_with_initial_weights` of ``config`` to ``path`` as a
    checkpoint (``state_dict``) that export and timing read as a trained one;
    returns ``path``."""
    torch.save(dict(state_dict=model_with_initial_weights(
        config, seed=seed).state_dict()), path)
    return path


def in_new_process(fn: Callable, *args):
    """``fn(*args)`` in a new (spawned) interpreter, as a deployed model runs:
    in a process that has just evaluated, the same models measured 10-20 %
    slower, and not by the same share for all."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table; floats with 3 significant digits."""
    def cell(value):
        return f'{value:.3g}' if isinstance(value, float) else str(value)
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


def add_json_arguments(parser) -> None:
    """``--json FILE`` (the figures, written atomically) and ``--overwrite``
    (replace an existing FILE), as every benchmark takes them."""
    parser.add_argument('--json', help='also write the figures to this new '
                        '.json file')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --json file')


def check_json_destination(parser, args) -> None:
    """Refuse a bad ``--json`` (an existing file without ``--overwrite``, a
    folder, another suffix) through ``parser.error``, before any timing."""
    from .atomic import DestinationError, check_destination
    if args.json:
        try:
            check_destination(args.json, overwrite=args.overwrite,
                              suffix='.json')
        except DestinationError as err:
            parser.error(f'--json {err}')


def write_json(path: Optional[str], figures: dict) -> None:
    """``figures`` as JSON at ``path`` (if given), through a temporary file
    renamed into place: no half-written file is left."""
    import json

    from .atomic import atomic_write_bytes
    if path:
        atomic_write_bytes(path, json.dumps(figures, indent=1).encode())


def cpu_description() -> str:
    """The CPU model and the widest vector instructions torch may use here
    (``'AMD EPYC, AVX2'``): a seed's numbers are reproducible only on the same
    instruction set and thread count, so results name it."""
    import platform
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    model = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = 'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags \
        else 'AVX' if 'avx' in flags else None
    return f'{model}, {isa}' if isa else model

