"""The detector's preprocessing as the first nodes of its ONNX file, so that a
deployment feeds the decoded image as it is (``export_onnx.py
--preprocess-in-graph``).

Outside the graph, a caller converts, normalises and pads each image in numpy
before the session runs (:func:`~mmmimic.deployment.onnx_profile.\
onnx_predict_fn`); at 640x480 that costs about as much as the RoI head and
NMS together. Inside it, ONNX Runtime does the same arithmetic with its own
kernels, in this order: HWC to CHW while still uint8 (a quarter of the bytes
to move), the channel swap on whole planes, then the cast, ``(x - mean) /
std`` and the zero padding at the bottom and right up to the graph's input
size; an image larger than the input size is refused by the graph (ONNX
Runtime's error at ``pre/fixed_shape``), never cropped. The numbers are those
of mmdet's ``DetDataPreprocessor`` (the same float32 operations), so the
file's detections equal those of the file without it."""
from typing import List, Tuple

import numpy as np

#: the graph input's name, in both kinds of file
IMAGE = 'image'
#: ``spec['input']`` of a file that takes the image itself
UINT8_INPUT = 'uint8_bgr_hwc'
#: the name the normalised image keeps inside a file with the preprocessing
PREPROCESSED = 'image_preprocessed'


def takes_uint8(spec: dict) -> bool:
    """Whether the file whose metadata is ``spec`` takes the uint8 image."""
    return spec.get('input') == UINT8_INPUT


def preprocessing_nodes(spec: dict, output: str) -> Tuple[list, list]:
    """ONNX nodes and initializers from the uint8 BGR image ``image`` (h, w,
    3), h <= H and w <= W of ``spec['input_shape']``, to ``output`` (1, 3, H,
    W) float32, as ``spec`` (the export's preprocessing) says."""
    from onnx import TensorProto, helper, numpy_helper
    height, width = spec['input_shape']
    nodes, initializers = [], []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(value, f'pre/{name}'))
        return f'pre/{name}'

    def node(op: str, inputs: List[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [f'pre/{name}'],
                                      name=f'pre/{name}', **attrs))
        return f'pre/{name}'

    x = node('Transpose', [IMAGE], 'chw', perm=[2, 0, 1])
    x = node('Unsqueeze', [x, const('axis0', np.array([0], np.int64))],
             'nchw')
    if spec['bgr_to_rgb']:
        x = node('Gather', [x, const('rgb_order', np.array([2, 1, 0], np.int64))],
                 'rgb', axis=1)
    x = node('Cast', [x], 'float', to=TensorProto.FLOAT)
    if spec['mean'] is not None:
        per_channel = (1, 3, 1, 1)
        x = node('Sub', [x, const('mean', np.asarray(
            spec['mean'], np.float32).reshape(per_channel))], 'centred')
        x = node('Div', [x, const('std', np.asarray(
            spec['std'], np.float32).reshape(per_channel))], 'normalised')
    size = node('Shape', [IMAGE], 'size', start=0, end=2)
    missing = node('Sub', [const('input_shape', np.array(
        [height, width], np.int64)), size], 'missing')
    # never negative: Pad would crop a larger image in silence
    missing = node('Max', [missing, const('zeros', np.zeros(2, np.int64))],
                   'missing_or_zero')
    pads = node('Concat', [const('no_pad', np.zeros(6, np.int64)), missing],
                'pads', axis=0)
    x = node('Pad', [x, pads, const('pad_value', np.array(
        spec['pad_value'], np.float32))], 'padded', mode='constant')
    # the fixed shape: an image larger than the input size fails here, with
    # ONNX Runtime's Reshape error, instead of running on a shape the rest of
    # the graph was not made for
    nodes.append(helper.make_node(
        'Reshape', [x, const('shape', np.array([1, 3, height, width],
                                               np.int64))],
        [output], name='pre/fixed_shape'))
    return nodes, initializers


def fuse_preprocessing(proto, spec: dict) -> dict:
    """Prepend the preprocessing of ``spec`` to ``proto`` (an export of
    :func:`~mmmimic.deployment.export_onnx`, changed in place): its input
    ``image`` becomes the uint8 BGR image (height, width, 3), of at most the
    input size. Returns the file's new ``spec`` (``input`` set)."""
    from onnx import TensorProto, helper
    graph = proto.graph
    if [i.name for i in graph.input] != [IMAGE] or takes_uint8(spec):
        raise ValueError('the preprocessing goes before the input of a '
                         'float-input export of export_onnx')
    for op in graph.node:
        op.input[:] = [PREPROCESSED if name == IMAGE else name
                       for name in op.input]
    graph.input.pop()
    graph.input.append(helper.make_tensor_value_info(
        IMAGE, TensorProto.UINT8, ['height', 'width', 3]))
    graph.value_info.append(helper.make_tensor_value_info(
        PREPROCESSED, TensorProto.FLOAT, [1, 3, *spec['input_shape']]))
    nodes, initializers = preprocessing_nodes(spec, PREPROCESSED)
    graph.initializer.extend(initializers)
    for index, op in enumerate(nodes):
        graph.node.insert(index, op)
    return dict(spec, input=UINT8_INPUT)


def add_preprocessing(onnx_file: str, out: str) -> dict:
    """Write ``onnx_file`` (a float-input file of ``export_onnx.py`` or of
    ``quantize_onnx.py``) to ``out`` with its preprocessing in the graph, as
    ``export_onnx.py --preprocess-in-graph`` writes it; returns the new
    preprocessing metadata. ``out`` is written atomically."""
    import json

    import onnx

    from mmmimic.utils.atomic import atomic_path

    from .onnx_export import PREPROCESS_KEY
    proto = onnx.load(onnx_file)
    meta = {p.key: p for p in proto.metadata_props}
    if PREPROCESS_KEY not in meta:
        raise ValueError(f'{onnx_file} has no {PREPROCESS_KEY!r} metadata: '
                         'it was not written by tools/deployment/'
                         'export_onnx.py')
    spec = fuse_preprocessing(proto, json.loads(meta[PREPROCESS_KEY].value))
    meta[PREPROCESS_KEY].value = json.dumps(spec)
    onnx.checker.check_model(proto)
    with atomic_path(out) as tmp:
        onnx.save(proto, tmp)
    return spec


__all__ = ['IMAGE', 'UINT8_INPUT', 'takes_uint8', 'preprocessing_nodes',
           'fuse_preprocessing', 'add_preprocessing']
