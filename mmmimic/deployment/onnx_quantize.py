"""Static INT8 post-training quantization of an exported detector with ONNX
Runtime's own tools.

:func:`quantize_onnx` takes a file of ``tools/deployment/export_onnx.py`` and
writes a QDQ-quantized copy: convolutions and matrix products (``Conv``,
``MatMul``, ``Gemm``) run in INT8 with per-channel weight scales, everything
else (the RPN's and the final ``NonMaxSuppression``, ``RoiAlign``, box
decoding, softmax) stays in float. The activations' ranges are calibrated on
images of the config's *training* set (``train_dataloader.dataset``), read and
resized with the config's test pipeline (to the size the file was exported
for) and prepared with the file's own preprocessing, as the deployed graph
receives them; a calibration set
that is the test or validation annotation file is refused, so a score on the
test split never saw its own images during calibration.

The calibration set, the method and the settings go into the file's metadata
(``mmmimic.quantization``) beside the export's preprocessing, so
``tools/test.py CONFIG MODEL.int8.onnx`` scores it like any exported file.
"""
import copy
import json
import os.path as osp
import tempfile
from typing import Iterator, List, Optional, Sequence

import numpy as np

from mmmimic.utils.atomic import (
    DestinationError,
    atomic_path,
    check_destination,
    file_sha256,
)
from mmmimic.utils.config_file import read_config

from .onnx_export import PREPROCESS_KEY, resize_steps
from .onnx_input import IMAGE

#: the metadata key of a quantized file's settings
QUANT_KEY = 'mmmimic.quantization'
#: the operators quantized; all others stay in float
QUANTIZED_OPS = ('Conv', 'MatMul', 'Gemm')
#: the exported node-name prefixes of the parts ``float_backbone`` leaves
FLOAT_BACKBONE = ('/backbone/', '/neck/')
CALIBRATION_METHODS = ('minmax', 'percentile', 'entropy')


class QuantizeError(ValueError):
    """The quantization cannot be made as asked (input, destination, data)."""


def _annotation_path(dataset: dict) -> Optional[str]:
    ann = dataset.get('ann_file')
    if not ann:
        return None
    root = dataset.get('data_root') or ''
    return osp.normpath(osp.abspath(osp.join(root, ann)))


def calibration_dataset(cfg, input_shape: Optional[Sequence[int]] = None
                        ) -> dict:
    """The config of the calibration images: ``train_dataloader.dataset``
    (a wrapper's inner dataset) with the test pipeline, so that images are
    resized as at deployment (its ``Resize`` to the file's ``input_shape``
    (H, W) when given, the size the file was exported for); refused when it is
    the test or validation annotation file.

    Raises:
        QuantizeError: no training dataset, or one that is a test split.
    """
    dataset = copy.deepcopy(cfg.get('train_dataloader', {}).get('dataset'))
    while isinstance(dataset, dict) and 'ann_file' not in dataset and \
            isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']   # RepeatDataset, ClassBalanced...
    if not isinstance(dataset, dict) or not dataset.get('ann_file'):
        raise QuantizeError(
            'the config has no train_dataloader.dataset with an ann_file: '
            'calibration reads the training images (never the test split); '
            'give the training set with --cfg-options '
            'train_dataloader.dataset.data_root=... ann_file=...')
    calib = _annotation_path(dataset)
    held_out = {}
    for key in ('test_dataloader', 'val_dataloader'):
        other = cfg.get(key, {}).get('dataset') or {}
        path = _annotation_path(other) if isinstance(other, dict) else None
        if path:
            held_out[path] = f'{key}.dataset'
    for key in ('test_evaluator', 'val_evaluator'):
        evaluator = cfg.get(key) or {}
        if isinstance(evaluator, dict) and evaluator.get('ann_file'):
            held_out[osp.normpath(osp.abspath(evaluator['ann_file']))] = key
    if calib in held_out:
        raise QuantizeError(
            f'calibration set {calib} is the annotation file of '
            f'{held_out[calib]}: calibrating on the images a score is taken '
            'on would flatter that score; point train_dataloader.dataset at '
            'the training split')
    test_pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get(
        'pipeline')
    if not test_pipeline:
        raise QuantizeError(
            'the config has no test_dataloader.dataset.pipeline: calibration '
            'images are resized as the test pipeline resizes them')
    pipeline = copy.deepcopy(test_pipeline)
    if input_shape is not None:
        for step in resize_steps(pipeline):
            if 'scale' in step:
                step['scale'] = (int(input_shape[1]), int(input_shape[0]))
    dataset['pipeline'] = pipeline
    dataset['test_mode'] = True
    return dataset


def calibration_indices(size: int, count: int) -> List[int]:
    """``count`` indices spread evenly over a dataset of ``size`` images
    (no randomness: the same file every time)."""
    if size < 1:
        raise QuantizeError('the calibration dataset has no images')
    count = min(count, size)
    return sorted({int(i) for i in np.linspace(0, size - 1, count)})


class DetectorCalibrationData:
    """The graph inputs of calibration images, one ``{'image': array}`` per
    call of ``get_next`` (ONNX Runtime's ``CalibrationDataReader`` protocol).

    Args:
        detector: an :class:`~.OnnxRuntimeDetector` of the float file (its
            preprocessing and padding).
        dataset: the built calibration dataset.
        indices: which of its images.
    """

    def __init__(self, detector, dataset, indices: Sequence[int]) -> None:
        self.detector = detector
        self.dataset = dataset
        self.indices = list(indices)
        self._iter = self._inputs()

    def _inputs(self) -> Iterator[dict]:
        from mmengine.dataset import pseudo_collate
        try:
            from tqdm import tqdm
        except ImportError:   # (progress only)
            def tqdm(items, **_):
                return items
        for index in tqdm(self.indices, desc='calibration images',
                          unit='img'):
            batch = self.detector.data_preprocessor(
                pseudo_collate([self.dataset[index]]), False)
            yield {IMAGE: self.detector.graph_input(
                batch['inputs'][0], batch['data_samples'][0])}

    def get_next(self) -> Optional[dict]:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = self._inputs()


def _reader(data: DetectorCalibrationData):
    """``data`` as an ONNX Runtime ``CalibrationDataReader``."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def get_next(self):
            return data.get_next()

        def rewind(self):
            data.rewind()
    return Reader()


def _op_counts(proto) -> dict:
    counts: dict = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def quantize_onnx(config: str, onnx_file: str, out: str,
                  num_images: int = 64, method: str = 'minmax',
                  per_channel: bool = True, overwrite: bool = False,
                  cfg_options: Optional[dict] = None,
                  float_backbone: bool = False) -> dict:
    """Write a static INT8 (QDQ) copy of ``onnx_file`` to ``out``.

    Args:
        config (str): The config the file was exported from (its training
            set, test pipeline and metric's annotation file are read).
        onnx_file (str): A file of ``tools/deployment/export_onnx.py``.
        out (str): The ``.onnx`` file to write (atomically).
        num_images (int): Calibration images, spread evenly over the
            training set.
        method (str): ONNX Runtime's calibration: ``minmax``, ``percentile``
            or ``entropy``.
        per_channel (bool): One weight scale per output channel.
        float_backbone (bool): Leave the backbone and neck in float and
            quantize the heads only (RPN head, RoI head): for backbones whose
            INT8 kernels are no faster than float ones (MobileNetV2's
            depthwise convolutions in ONNX Runtime on CPU).

    Returns:
        dict: ``out``, ``images``, ``quantized`` (nodes per operator type
        quantized), ``float_ops`` (operator types left in float), ``bytes``
        (sizes of the input and the output) and ``metadata``.
    """
    from mmengine.registry import DefaultScope

    from mmmimic.registry import DATASETS

    from .onnx_runtime_detector import OnnxRuntimeDetector, onnx_session
    if method not in CALIBRATION_METHODS:
        raise QuantizeError(f'--method {method!r}: one of '
                            f'{", ".join(CALIBRATION_METHODS)}')
    if num_images < 1:
        raise QuantizeError(f'--images {num_images}: at least 1')
    try:
        check_destination(out, [config, onnx_file], overwrite,
                          suffix='.onnx')
    except DestinationError as err:
        raise QuantizeError(str(err)) from None
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'{onnx_file}: no such file')
    meta = onnx_session(onnx_file, 1).get_modelmeta().custom_metadata_map
    if PREPROCESS_KEY not in meta:
        raise QuantizeError(
            f'{onnx_file} has no {PREPROCESS_KEY!r} metadata: quantize a '
            'file written by tools/deployment/export_onnx.py')
    if QUANT_KEY in meta:
        raise QuantizeError(
            f'{onnx_file} is already quantized ({QUANT_KEY} in its '
            'metadata): quantize the FP32 export')
    cfg = read_config(config, cfg_options=cfg_options)
    dataset_cfg = calibration_dataset(
        cfg, json.loads(meta[PREPROCESS_KEY]).get('input_shape'))
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmmimic')):
        dataset = DATASETS.build(dataset_cfg)
    indices = calibration_indices(len(dataset), num_images)
    detector = OnnxRuntimeDetector(onnx_file, threads=None)
    data = DetectorCalibrationData(detector, dataset, indices)

    import onnx
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    calibrate = dict(minmax=CalibrationMethod.MinMax,
                     percentile=CalibrationMethod.Percentile,
                     entropy=CalibrationMethod.Entropy)[method]
    with tempfile.TemporaryDirectory() as tmp_dir:
        prepared = osp.join(tmp_dir, 'prepared.onnx')
        # shape inference and graph optimisation, as ONNX Runtime recommends
        # before quantizing
        quant_pre_process(onnx_file, prepared, skip_symbolic_shape=True)
        excluded = [node.name for node in onnx.load(prepared).graph.node
                    if node.name.startswith(FLOAT_BACKBONE)] \
            if float_backbone else []
        if float_backbone and not excluded:
            raise QuantizeError(
                f'{onnx_file}: no node named /backbone/... or /neck/...; '
                '--float-backbone needs a file of export_onnx.py')
        with atomic_path(out) as tmp:
            quantize_static(
                prepared, tmp, _reader(data), quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OPS),
                per_channel=per_channel, activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8, calibrate_method=calibrate,
                nodes_to_exclude=excluded)
            proto = onnx.load(tmp)
            settings = dict(
                method='static post-training quantization, QDQ (ONNX '
                'Runtime quantize_static)',
                onnxruntime=onnxruntime.__version__,
                calibration=method, images=len(indices),
                calibration_set=dict(ann_file=_annotation_path(dataset_cfg),
                                     split='train_dataloader.dataset',
                                     pipeline='test pipeline',
                                     indices='evenly spaced'),
                weights='int8, per channel' if per_channel else
                'int8, per tensor',
                activations='int8, per tensor',
                quantized_ops=list(QUANTIZED_OPS),
                float_parts=['backbone', 'neck'] if float_backbone else [],
                source=dict(file=osp.basename(onnx_file),
                            sha256=file_sha256(onnx_file)))
            kept = {p.key: p.value for p in proto.metadata_props}
            kept[PREPROCESS_KEY] = meta[PREPROCESS_KEY]
            kept[QUANT_KEY] = json.dumps(settings)
            del proto.metadata_props[:]
            for key, value in kept.items():
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            onnx.checker.check_model(proto)
            onnx.save(proto, tmp)
    counts = _op_counts(proto)
    float_proto = onnx.load(onnx_file)
    float_ops = sorted(op for op in _op_counts(float_proto)
                       if op not in QUANTIZED_OPS)
    quantized = _quantized_nodes(proto)
    return dict(out=out, images=len(indices), quantized=quantized,
                float_ops=float_ops, ops=counts,
                bytes=(osp.getsize(onnx_file), osp.getsize(out)),
                metadata=settings)


def _quantized_nodes(proto) -> dict:
    """Per operator type, the nodes whose weight input is dequantized from
    INT8 (the QDQ pattern ``DequantizeLinear -> op``)."""
    produced_by = {}
    for node in proto.graph.node:
        for output in node.output:
            produced_by[output] = node.op_type
    counts: dict = {}
    for node in proto.graph.node:
        if node.op_type in QUANTIZED_OPS and len(node.input) > 1 and \
                produced_by.get(node.input[1]) == 'DequantizeLinear':
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


__all__ = ['quantize_onnx', 'QuantizeError', 'QUANT_KEY', 'QUANTIZED_OPS',
           'FLOAT_BACKBONE',
           'CALIBRATION_METHODS', 'calibration_dataset',
           'calibration_indices', 'DetectorCalibrationData']
