"""Export a trained student (or any supported two-stage detector) as one ONNX
file: normalised image (or, with the preprocessing in the graph, the uint8
image) in, ``boxes``, ``scores``, ``labels`` out."""
import inspect
import json
from typing import Optional, Sequence, Tuple

import torch

from mmmimic.utils.atomic import (
    DestinationError,
    atomic_path,
    check_destination,
)
from mmmimic.utils.config_file import read_config

from .onnx_graph import OnnxTwoStageGraph, UnsupportedForOnnx, onnx_ops
from .onnx_input import IMAGE, fuse_preprocessing

#: RoiAlign with ``coordinate_transformation_mode`` (mmcv's aligned=True)
MIN_OPSET = 16
DEFAULT_OPSET = 17
#: the keys of the file's metadata that say how to prepare its input
PREPROCESS_KEY = 'mmmimic.preprocess'


class OnnxExportError(ValueError):
    """The export cannot be made as asked (a destination, an option)."""


def resize_steps(pipeline) -> list:
    """The ``Resize`` steps of a data pipeline (any scope prefix)."""
    return [step for step in pipeline
            if str(step.get('type', '')).split('.')[-1] == 'Resize']


def default_shape(cfg) -> Optional[Tuple[int, int]]:
    """(H, W) from the test pipeline's fixed ``Resize`` scale (w, h), padded
    up to the preprocessor's ``pad_size_divisor``; None when there is none."""
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get(
        'pipeline', [])
    for step in resize_steps(pipeline):
        if isinstance(step.get('scale'), (tuple, list)):
            width, height = step['scale']
            divisor = cfg.model.get('data_preprocessor', {}).get(
                'pad_size_divisor', 1) or 1
            return (-(-int(height) // divisor) * divisor,
                    -(-int(width) // divisor) * divisor)
    return None


def preprocess_spec(detector: torch.nn.Module) -> dict:
    """What a caller does to an image before the graph (the detector's
    ``DetDataPreprocessor``): BGR->RGB or not, then ``(x - mean) / std``,
    then zeros padded at the bottom and right up to the graph's input size."""
    pre = detector.data_preprocessor
    # DetDataPreprocessor keeps these two settings in private attributes
    normalize = getattr(pre, '_enable_normalize', False)
    mean = pre.mean if normalize else None
    std = pre.std if normalize else None
    return dict(
        bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False)),
        mean=None if mean is None else mean.flatten().tolist(),
        std=None if std is None else std.flatten().tolist(),
        pad_size_divisor=int(getattr(pre, 'pad_size_divisor', 1)),
        pad_value=float(getattr(pre, 'pad_value', 0)))


def _export(graph: torch.nn.Module, example: torch.Tensor, path: str,
            opset: int) -> None:
    kwargs = dict(input_names=[IMAGE],
                  output_names=['boxes', 'scores', 'labels'],
                  opset_version=opset, do_constant_folding=True)
    # torch >= 2.9 defaults to the torch.export-based exporter; this graph is
    # traced by the TorchScript exporter, which every supported torch has
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = False
    import warnings
    with warnings.catch_warnings():
        # tracer warnings about shape-dependent Python values: the graph has
        # a fixed input size by design
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=UserWarning)
        torch.onnx.export(graph, (example, ), path, **kwargs)


def export_onnx(config: str, checkpoint: str, out: str,
                shape: Optional[Sequence[int]] = None,
                opset: int = DEFAULT_OPSET, overwrite: bool = False,
                cfg_options: Optional[dict] = None,
                preprocess_in_graph: bool = False) -> dict:
    """Write the model that ``checkpoint`` deploys as (a mimic run's student,
    as :func:`~mmmimic.models.distillers.student_export.deployed_model`
    builds it; or the config's own detector) as one ONNX file.

    Everything is checked before the file is written (destination, opset,
    shape, supported parts); the file is written to a temporary path, checked
    by ``onnx.checker`` and for operators outside the standard domain, then
    renamed: a refused or failed export leaves nothing behind.

    The file's input ``image`` is the preprocessed image (1, 3, H, W) float32
    (see its metadata); with ``preprocess_in_graph``, the uint8 BGR image
    (h, w, 3) of at most H x W, which the graph converts, normalises and pads
    itself (:mod:`~mmmimic.deployment.onnx_input`).

    Returns:
        dict: ``out``, ``shape`` (H, W), ``opset``, ``ops`` (the operator
        types used) and ``preprocess`` (what the caller does to an image).

    Raises:
        OnnxExportError: destination, opset or shape refused.
        UnsupportedForOnnx: a part of the detector has no ONNX form here.
    """

    from mmmimic.models.distillers.student_export import deployed_model
    try:
        check_destination(out, [config, checkpoint], overwrite,
                          suffix='.onnx')
    except DestinationError as err:
        raise OnnxExportError(str(err)) from None
    if not MIN_OPSET <= opset <= 20:
        raise OnnxExportError(
            f'--opset {opset}: RoiAlign as mmcv computes it (aligned) needs '
            f'opset >= {MIN_OPSET}; opsets {MIN_OPSET}-20 are supported')
    cfg = read_config(config, cfg_options=cfg_options)
    if shape is None:
        shape = default_shape(cfg)
        if shape is None:
            raise OnnxExportError(
                f'{config}: its test pipeline has no fixed Resize scale; '
                'give the input size with --shape H W')
    if len(shape) != 2 or any(int(s) < 1 for s in shape):
        raise OnnxExportError(f'--shape {shape}: two positive integers, '
                              'height and width')
    shape = (int(shape[0]), int(shape[1]))
    model = deployed_model(config, checkpoint, cfg_options)
    graph = OnnxTwoStageGraph(model, shape).eval()   # refuses unsupported
    divisor = preprocess_spec(model)['pad_size_divisor']
    if shape[0] % divisor or shape[1] % divisor:
        raise OnnxExportError(
            f'--shape {shape[0]} {shape[1]}: the preprocessor pads to '
            f'multiples of {divisor}; give a multiple of {divisor}')
    import onnx
    example = torch.zeros(1, 3, *shape)
    with atomic_path(out) as tmp:
        with torch.no_grad():
            _export(graph, example, tmp, opset)
        proto = onnx.load(tmp)
        onnx.checker.check_model(proto)
        ops = onnx_ops(proto)
        custom = sorted({f'{d}::{t}' for d, t in ops
                         if d not in ('', 'ai.onnx')})
        if custom:
            raise UnsupportedForOnnx(
                f'the graph uses operators outside the ONNX standard: '
                f'{custom}')
        spec = dict(preprocess_spec(model), input_shape=list(shape))
        if preprocess_in_graph:
            spec = fuse_preprocessing(proto, spec)
            onnx.checker.check_model(proto)
            ops = onnx_ops(proto)
        meta = dict(spec,
                    classes=list(model.dataset_meta.get('classes', []))
                    if getattr(model, 'dataset_meta', None) else [])
        entry = proto.metadata_props.add()
        entry.key, entry.value = PREPROCESS_KEY, json.dumps(meta)
        onnx.save(proto, tmp)
    return dict(out=out, shape=shape, opset=opset,
                ops=sorted({t for _, t in ops}), preprocess=spec)


__all__ = ['export_onnx', 'OnnxExportError', 'UnsupportedForOnnx',
           'PREPROCESS_KEY', 'default_shape', 'preprocess_spec']
