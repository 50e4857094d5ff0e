"""Where an exported detector's time goes in ONNX Runtime, stage by stage."""
import json
import os
import tempfile
from typing import Callable, Dict, List

import numpy as np

from .onnx_graph import STAGES
from .onnx_runtime_detector import onnx_session


def node_stages(model_proto) -> Dict[str, str]:
    """Each node's stage (:data:`~.onnx_graph.STAGES`), read from the graph's
    order and the module scopes the exporter puts in node names: backbone
    and neck nodes (and the input resize before them), the RPN head's
    convolutions, everything after them up to the first RoiAlign (decoding,
    top-k, NMS), the RoiAligns and the level mapping up to the RoI head, the
    RoI head's layers, and everything after them (softmax, decoding, NMS)."""
    stages, stage = {}, STAGES[0]
    for node in model_proto.graph.node:
        name = node.name
        if name.startswith(('/backbone', '/neck')):
            stage = STAGES[0]
        elif name.startswith('/rpn_head'):
            stage = STAGES[1]
        elif stage == STAGES[1]:
            stage = STAGES[2]
        if node.op_type == 'RoiAlign' and stage == STAGES[2]:
            stage = STAGES[3]
        if name.startswith('/bbox_head'):
            stage = STAGES[4]
        elif stage == STAGES[4]:
            stage = STAGES[5]
        stages[name] = stage
    return stages


def stage_profile(onnx_file: str, feed: Callable[[], dict], runs: int = 10,
                  threads: int = 1) -> Dict[str, float]:
    """Median milliseconds per stage over ``runs`` profiled runs (ONNX
    Runtime's own kernel times; the profiler adds a little to each node, so
    compare stages, and take the total from an unprofiled timing).

    Args:
        onnx_file (str): A file of ``tools/deployment/export_onnx.py``.
        feed (callable): Returns the input dict of one run.
    """
    import onnx
    import onnxruntime as ort
    stages = node_stages(onnx.load(onnx_file))
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, 'profile')
        session = ort.InferenceSession(onnx_file, options,
                                       providers=['CPUExecutionProvider'])
        session.run(None, feed())        # warm-up, dropped below
        for _ in range(runs):
            session.run(None, feed())
        with open(session.end_profiling()) as f:
            events = json.load(f)
    per_run: List[Dict[str, float]] = []
    buckets = STAGES + (UNMAPPED, )
    for event in events:
        if event.get('cat') == 'Session' and event.get('name') == \
                'model_run':
            per_run.append({s: 0.0 for s in buckets})
        elif event.get('cat') == 'Node' and per_run and \
                event['name'].endswith('_kernel_time'):
            node = event['name'][:-len('_kernel_time')]
            per_run[-1][runtime_node_stage(node, stages)] += \
                event['dur'] / 1000.0
    per_run = per_run[1:]     # the warm-up run
    return {s: float(np.median([r[s] for r in per_run])) for s in buckets}


#: the bucket of runtime nodes :func:`runtime_node_stage` cannot place
UNMAPPED = 'not mapped'


def runtime_node_stage(name: str, stages: Dict[str, str]) -> str:
    """The stage of a node as ONNX Runtime names it: after graph
    optimisation a node keeps its name, or a fused or layout-converted node
    is named after the exported node it replaces plus a suffix
    (``/backbone/conv1/activate/Clip_output_0_nchwc``) or after the fused
    nodes (``fused /bbox_head/shared_fcs.0/Gemm``); module scopes name the
    stage directly. Layout conversions the runtime inserts
    (``ReorderOutput``) have no exported node: :data:`UNMAPPED`."""
    if name.startswith('fused '):     # e.g. 'fused /bbox_head/fc/Gemm'
        name = name[len('fused '):]
    if name in stages:
        return stages[name]
    for prefix, stage in (('/backbone', STAGES[0]), ('/neck', STAGES[0]),
                          ('/rpn_head', STAGES[1]),
                          ('/bbox_head', STAGES[4])):
        if name.startswith(prefix):
            return stage
    base = max((n for n in stages if name.startswith(n + '_')), key=len,
               default=None)
    return stages[base] if base is not None else UNMAPPED


def onnx_predict_fn(session, image: np.ndarray) -> Callable[[], None]:
    """A call that prepares ``image`` ((H, W, 3) uint8 BGR, of the graph's
    input size) as the file's metadata says and runs ``session``: what a
    deployment does per image (nothing for a file with the preprocessing in
    its graph)."""
    from .onnx_export import PREPROCESS_KEY
    from .onnx_input import IMAGE, takes_uint8
    spec = json.loads(
        session.get_modelmeta().custom_metadata_map[PREPROCESS_KEY])
    height, width = spec['input_shape']
    mean = np.asarray(spec['mean'] or [0, 0, 0], np.float32)
    std = np.asarray(spec['std'] or [1, 1, 1], np.float32)

    def prepare() -> dict:
        if takes_uint8(spec):   # the graph prepares it
            return {IMAGE: image}
        img = image[..., ::-1] if spec['bgr_to_rgb'] else image
        img = (img.astype(np.float32) - mean) / std
        batch = np.full((1, 3, height, width), spec['pad_value'], np.float32)
        batch[0, :, :img.shape[0], :img.shape[1]] = img.transpose(2, 0, 1)
        return {IMAGE: batch}

    def run() -> None:
        session.run(None, prepare())

    run.prepare = prepare
    return run


__all__ = ['UNMAPPED', 'node_stages', 'onnx_predict_fn', 'onnx_session',
           'runtime_node_stage', 'stage_profile']
