"""tools/deployment/quantize_onnx.py: a static INT8 (QDQ) copy of an exported
file, calibrated on the training split only, with its settings in the
metadata, scored by tools/test.py like the float file."""
import json
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from ..conftest import REPO_ROOT, TINY_CONFIG, tiny_data_options
from .test_onnx_export import save_initial

pytest.importorskip('onnxruntime')
import onnx  # noqa: E402

from mmmimic.deployment import export_onnx  # noqa: E402
from mmmimic.deployment.compare import match_detections  # noqa: E402
from mmmimic.deployment.onnx_export import PREPROCESS_KEY  # noqa: E402
from mmmimic.deployment.onnx_input import (  # noqa: E402
    UINT8_INPUT,
    add_preprocessing,
)
from mmmimic.deployment.onnx_quantize import (  # noqa: E402
    FLOAT_BACKBONE,
    QUANT_KEY,
    QuantizeError,
    calibration_indices,
    quantize_onnx,
)
from mmmimic.deployment.onnx_runtime_detector import (  # noqa: E402
    onnx_session,
)
from mmmimic.utils import register_all_modules  # noqa: E402

QUANTIZE = osp.join(REPO_ROOT, 'tools', 'deployment', 'quantize_onnx.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
EVERY_BOX = {'model.test_cfg.rcnn.score_thr': 0.0}


# its module fixture is made once: the module's tests on one pytest-xdist
# worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group('onnx_quantize')


def options(tiny_coco) -> dict:
    return dict(EVERY_BOX, **dict(o.split('=', 1)
                                  for o in tiny_data_options(tiny_coco)))


@pytest.fixture(scope='module')
def exported(tiny_coco, tmp_path_factory):
    """The tiny detector (seeded initial weights) exported to FP32 ONNX."""
    register_all_modules(init_default_scope=False)
    folder = tmp_path_factory.mktemp('quantize')
    ckpt = save_initial(TINY_CONFIG, folder)
    out = str(folder / 'tiny.onnx')
    export_onnx(TINY_CONFIG, ckpt, out, cfg_options=EVERY_BOX)
    return out


def detections(path: str, image: np.ndarray):
    session = onnx_session(path, threads=1)
    return session.run(None, {'image': image})


def test_convolutions_and_matrix_products_in_int8_the_rest_in_float(
        exported, tiny_coco, tmp_path):
    out = str(tmp_path / 'tiny.int8.onnx')
    result = quantize_onnx(TINY_CONFIG, exported, out, num_images=3,
                           cfg_options=options(tiny_coco))
    proto = onnx.load(out)
    ops = [node.op_type for node in proto.graph.node]
    float_proto = onnx.load(exported)
    convs = sum(n.op_type == 'Conv' for n in float_proto.graph.node)
    # every convolution's weights are dequantized from INT8
    assert result['quantized']['Conv'] == convs > 5
    assert result['quantized'].get('Gemm', 0) + \
        result['quantized'].get('MatMul', 0) >= 2
    inits = {i.name: i for i in proto.graph.initializer}
    int8 = [i for i in inits.values() if i.data_type == onnx.TensorProto.INT8]
    assert int8, 'no INT8 weights'
    # NMS and RoiAlign left in float: no quantized form of them, and they
    # are still there
    assert {'NonMaxSuppression', 'RoiAlign'} <= set(ops)
    assert not any(op.startswith('QLinear') for op in ops)
    # the metadata: the export's preprocessing kept, the settings added
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta[PREPROCESS_KEY]) == json.loads(
        {p.key: p.value for p in float_proto.metadata_props}[PREPROCESS_KEY])
    settings = json.loads(meta[QUANT_KEY])
    assert settings['images'] == 3 and settings['calibration'] == 'minmax'
    assert settings['calibration_set']['ann_file'].endswith(
        osp.join('annotations', 'train.json'))
    assert settings['weights'] == 'int8, per channel'
    assert result['bytes'][1] < result['bytes'][0]
    # the INT8 graph finds what the float one finds, nearly where it does
    rng = np.random.default_rng(0)
    image = rng.normal(size=(1, 3, 96, 128)).astype(np.float32)
    got, expected = detections(out, image), detections(exported, image)
    assert len(expected[0]) > 5
    # (initial weights: near ties, so NMS may keep other boxes of equal
    # score; the scores, sorted, must agree)
    assert abs(len(got[0]) - len(expected[0])) <= len(expected[0]) // 5
    count = min(len(got[1]), len(expected[1]))
    assert np.abs(np.sort(got[1])[::-1][:count] -
                  np.sort(expected[1])[::-1][:count]).max() < 0.05
    matched = match_detections(tuple(got), tuple(expected), box_atol=4.0,
                               score_atol=0.05)
    assert matched['matched'] >= 1, matched


def test_the_test_split_never_calibrates(exported, tiny_coco, tmp_path):
    out = tmp_path / 'x.onnx'
    test_split = dict(options(tiny_coco), **{
        'train_dataloader.dataset.ann_file': 'annotations/val.json'})
    with pytest.raises(QuantizeError, match=r'val.json is the annotation '
                       r'file of (test|val)_(dataloader.dataset|evaluator)'):
        quantize_onnx(TINY_CONFIG, exported, str(out),
                      cfg_options=test_split)
    assert not out.exists()


def test_inputs_are_checked_before_any_work(exported, tiny_coco, tmp_path):
    cfg_options = options(tiny_coco)
    # the float file itself, a file that exists, a wrong suffix
    existing = tmp_path / 'existing.onnx'
    existing.write_bytes(b'')
    for dest, message in ((exported, 'also an input'),
                          (str(existing), 'exists; pass --overwrite'),
                          (str(tmp_path / 'x.onnx.txt'), r'\.onnx')):
        with pytest.raises(QuantizeError, match=message):
            quantize_onnx(TINY_CONFIG, exported, dest,
                          cfg_options=cfg_options)
    out = str(tmp_path / 'q.ONNX')   # (the suffix in any case)
    quantize_onnx(TINY_CONFIG, exported, out, num_images=1,
                  cfg_options=cfg_options)
    with pytest.raises(QuantizeError, match='already quantized'):
        quantize_onnx(TINY_CONFIG, out, str(tmp_path / 'qq.onnx'),
                      cfg_options=cfg_options)
    with pytest.raises(QuantizeError, match='--method'):
        quantize_onnx(TINY_CONFIG, exported, str(tmp_path / 'm.onnx'),
                      method='kl', cfg_options=cfg_options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['existing.onnx',
                                                          'q.ONNX']


def test_float_backbone_quantizes_the_heads_only(exported, tiny_coco,
                                                 tmp_path):
    out = str(tmp_path / 'heads.int8.onnx')
    result = quantize_onnx(TINY_CONFIG, exported, out, num_images=2,
                           cfg_options=options(tiny_coco),
                           float_backbone=True)
    proto = onnx.load(out)
    produced_by = {o: n.op_type for n in proto.graph.node for o in n.output}
    convs = [n for n in proto.graph.node if n.op_type == 'Conv']
    quantized = {n.name for n in convs
                 if produced_by.get(n.input[1]) == 'DequantizeLinear'}
    backbone = {n.name for n in convs
                if n.name.startswith(FLOAT_BACKBONE)}
    assert backbone and not backbone & quantized   # the backbone in float
    assert quantized and all(n.startswith('/rpn_head') for n in quantized)
    assert result['quantized'].get('Gemm', 0) + \
        result['quantized'].get('MatMul', 0) >= 2   # the RoI head's layers
    settings = json.loads({p.key: p.value for p in proto.metadata_props}[
        QUANT_KEY])
    assert settings['float_parts'] == ['backbone', 'neck']
    # a file whose nodes do not carry the export's names: nothing to leave
    renamed = onnx.load(exported)
    for index, node in enumerate(renamed.graph.node):
        node.name = f'node{index}'
    other = str(tmp_path / 'renamed.onnx')
    onnx.save(renamed, other)
    with pytest.raises(QuantizeError, match='no node named /backbone/'):
        quantize_onnx(TINY_CONFIG, other, str(tmp_path / 'r.int8.onnx'),
                      num_images=1, cfg_options=options(tiny_coco),
                      float_backbone=True)
    assert not (tmp_path / 'r.int8.onnx').exists()


def test_the_preprocessing_in_the_graph_survives_quantization(
        exported, tiny_coco, tmp_path):
    """A file with its preprocessing inside calibrates on the uint8 images
    and stays a uint8-input file; quantizing first, then adding the
    preprocessing, gives the same file's detections."""
    cfg_options = options(tiny_coco)
    in_graph = str(tmp_path / 'in_graph.onnx')
    add_preprocessing(exported, in_graph)
    first = str(tmp_path / 'in_graph.int8.onnx')
    quantize_onnx(TINY_CONFIG, in_graph, first, num_images=2,
                  cfg_options=cfg_options)
    proto = onnx.load(first)
    assert proto.graph.input[0].type.tensor_type.elem_type == \
        onnx.TensorProto.UINT8
    assert json.loads({p.key: p.value for p in proto.metadata_props}[
        PREPROCESS_KEY])['input'] == UINT8_INPUT
    quantized = str(tmp_path / 'int8.onnx')
    quantize_onnx(TINY_CONFIG, exported, quantized, num_images=2,
                  cfg_options=cfg_options)
    then = str(tmp_path / 'int8.in_graph.onnx')
    add_preprocessing(quantized, then)
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3),
                                              dtype=np.uint8)
    got, expected = detections(first, image), detections(then, image)
    assert len(expected[0]) > 5
    matched = match_detections(tuple(got), tuple(expected), box_atol=1e-3,
                               score_atol=1e-5)
    assert matched['matched'] == matched['larger'], matched


def test_calibration_images_are_spread_evenly():
    assert calibration_indices(10, 3) == [0, 4, 9]
    assert calibration_indices(2, 64) == [0, 1]
    with pytest.raises(QuantizeError, match='no images'):
        calibration_indices(0, 4)


def test_command_line_and_tools_test(exported, tiny_coco, tmp_path,
                                     monkeypatch, capsys):
    """The tool writes the file, tools/test.py scores it with the config's
    metric; a refusal is one line."""
    out = str(tmp_path / 'tiny.int8.onnx')
    data = tiny_data_options(tiny_coco)
    monkeypatch.setattr(sys, 'argv', [QUANTIZE, TINY_CONFIG, exported, out,
                                      '--images', '2', '--cfg-options'] +
                        data)
    runpy.run_path(QUANTIZE, run_name='__main__')
    assert 'in INT8 (calibrated on 2 training images' in \
        capsys.readouterr().out
    monkeypatch.setattr(sys, 'argv', [TEST, TINY_CONFIG, out, '--work-dir',
                                      str(tmp_path / 'w'), '--cfg-options'] +
                        data)
    runpy.run_path(TEST, run_name='__main__')
    captured = capsys.readouterr()
    assert 'coco/bbox_mAP' in captured.out + captured.err
    monkeypatch.setattr(sys, 'argv', [QUANTIZE, TINY_CONFIG, exported, out,
                                      '--cfg-options'] + data)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(QUANTIZE, run_name='__main__')
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and 'quantize_onnx.py: ' in err and \
        '--overwrite' in err
