"""Cost of deployed models in both runtimes, measured in one run."""
import os.path as osp
import tempfile
from typing import Dict, Optional, Tuple

import numpy as np
import torch

ModelSpec = Tuple[str, str]     # config, checkpoint


def padded_shape(model: torch.nn.Module,
                 shape: Tuple[int, int]) -> Tuple[int, int]:
    """``shape`` (H, W) padded up as the model's preprocessor pads it: the
    input size of its ONNX file for images of that size."""
    divisor = int(getattr(model.data_preprocessor, 'pad_size_divisor', 1))
    return tuple(-(-int(s) // divisor) * divisor for s in shape)


def deployed_stats(models: Dict[str, ModelSpec], image: torch.Tensor,
                   rounds: int = 10, threads: int = 1,
                   onnx: bool = True, onnx_dir: Optional[str] = None,
                   int8: Optional[dict] = None,
                   in_graph: bool = False,
                   float_backbone: bool = False) -> Dict[str, Dict[str, float]]:
    """Parameters (M), GFLOPs and latency of each model as it deploys (a
    mimic run's student as the export writes it), on ``image`` ((3, H, W)
    uint8 BGR), in PyTorch and, with ``onnx``, as the one ONNX file of
    :func:`~mmmimic.deployment.export_onnx` in ONNX Runtime (CPU; the
    numpy preprocessing included). Every model predicts in turn, round after
    round, in both runtimes, so that all ratios come from the same
    conditions. Runs with ``threads`` CPU threads in each runtime. With
    ``onnx_dir`` (an existing folder) the ONNX files are kept there
    (``<i>.onnx``, in the order of ``models``) for a caller that profiles
    them, instead of exporting each again. With ``int8`` (the
    ``cfg_options`` of the calibration, e.g. where the training images are;
    ``{}`` for none), each ONNX file is also quantized
    (:func:`~mmmimic.deployment.onnx_quantize.quantize_onnx`, 64 training
    images; with ``float_backbone`` its heads only) and timed in ONNX
    Runtime. With ``in_graph``, each ONNX file
    (FP32 and INT8) is also timed with its preprocessing in the graph
    (:func:`~mmmimic.deployment.onnx_input.add_preprocessing`: the uint8
    image in, no numpy work).

    Returns:
        dict: name -> ``params``, ``gflops``, ``latency_ms`` (PyTorch) and,
        with ``onnx``, ``onnx_latency_ms`` (and ``onnx_path`` with
        ``onnx_dir``), with ``int8`` ``int8_latency_ms`` and ``int8_path``;
        ``timings``: the :class:`~mmmimic.utils.benchmark.Timing` of each
        runtime (``torch``, ``onnx``, ``int8``, ``onnx_in_graph``,
        ``int8_in_graph``), with quartiles and range.
    """
    from mmmimic.models.distillers.student_export import deployed_model
    from mmmimic.utils.benchmark import (
        complexity,
        interleaved_timings,
        predict_fn,
    )
    torch.set_num_threads(threads)
    shape = tuple(image.shape[-2:])
    built = {name: deployed_model(config, ckpt)
             for name, (config, ckpt) in models.items()}
    stats = {name: complexity(model, shape, image)
             for name, model in built.items()}
    fns = {(name, 'torch'): predict_fn(model, shape, image=image)
           for name, model in built.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = onnx_dir or tmp
        if onnx:
            from .onnx_export import export_onnx
            from .onnx_profile import onnx_predict_fn
            from .onnx_runtime_detector import onnx_session
            hwc = image.permute(1, 2, 0).contiguous().numpy()
            for i, (name, (config, ckpt)) in enumerate(models.items()):
                path = osp.join(folder, f'{i}.onnx')
                export_onnx(config, ckpt, path,
                            shape=padded_shape(built[name], shape))
                if onnx_dir:
                    stats[name]['onnx_path'] = path
                files = {'onnx': path}
                if int8 is not None:
                    from .onnx_quantize import quantize_onnx
                    files['int8'] = osp.join(folder, f'{i}.int8.onnx')
                    quantize_onnx(config, path, files['int8'],
                                  cfg_options=int8,
                                  float_backbone=float_backbone)
                    if onnx_dir:
                        stats[name]['int8_path'] = files['int8']
                if in_graph:
                    from .onnx_input import add_preprocessing
                    for runtime, source in list(files.items()):
                        files[f'{runtime}_in_graph'] = source[:-len(
                            '.onnx')] + '.in_graph.onnx'
                        add_preprocessing(source,
                                          files[f'{runtime}_in_graph'])
                for runtime, source in files.items():
                    fns[(name, runtime)] = onnx_predict_fn(
                        onnx_session(source, threads),
                        np.ascontiguousarray(hwc))
        timings = interleaved_timings(fns, rounds, warmup=2)
    for name in built:
        stats[name]['timings'] = {runtime: timing for (model, runtime),
                                  timing in timings.items() if model == name}
        stats[name]['latency_ms'] = timings[(name, 'torch')].median
        for runtime, timing in stats[name]['timings'].items():
            if runtime != 'torch':
                stats[name][f'{runtime}_latency_ms'] = timing.median
    return stats
