"""tools/test.py CONFIG MODEL.onnx: the exported file evaluated by the same
command, dataloader and metric as its checkpoint, with the same result."""
import os.path as osp
import re
import subprocess
import sys

import pytest

from ..conftest import (
    REPO_ROOT,
    TINY_CONFIG,
    run_tool_in_process,
    tiny_data_options,
)
from .test_onnx_export import save_initial

pytest.importorskip('onnxruntime')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
EXPORT = osp.join(REPO_ROOT, 'tools', 'deployment', 'export_onnx.py')
COMPARE = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                   'compare_predictions.py')
# every detection (initial weights score low), at most 100 per image
OPTIONS = ['model.test_cfg.rcnn.score_thr=0.0']


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args, capture_output=True,
                          text=True, cwd=str(cwd))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_the_onnx_file_scores_as_its_checkpoint(tiny_coco, tmp_path):
    ckpt = save_initial(TINY_CONFIG, tmp_path)
    onnx_file = str(tmp_path / 'tiny.onnx')
    out = run([EXPORT, TINY_CONFIG, ckpt, onnx_file, '--cfg-options'] +
              OPTIONS, tmp_path)
    assert 'input image (1, 3, 96, 128)' in out
    # the same file with its preprocessing in the graph (uint8 image in)
    in_graph = str(tmp_path / 'tiny.in_graph.onnx')
    export = run_tool_in_process([EXPORT, TINY_CONFIG, ckpt, in_graph,
                                  '--preprocess-in-graph',
                                  '--cfg-options'] + OPTIONS, str(tmp_path))
    assert export.returncode == 0, export.stdout + export.stderr
    assert 'input image (h <= 96, w <= 128, 3) uint8 BGR' in export.stdout
    maps = {}
    for name, model in (('pytorch', ckpt), ('onnx', onnx_file),
                        ('in_graph', in_graph)):
        log = run([TEST, TINY_CONFIG, model, '--work-dir',
                   str(tmp_path / name), '--out',
                   str(tmp_path / f'{name}.pkl'), '--cfg-options'] +
                  tiny_data_options(tiny_coco) + OPTIONS, tmp_path)
        maps[name] = re.search(r'coco/bbox_mAP: ([\d.-]+)', log).group(1)
    assert maps['onnx'] == maps['pytorch'] == maps['in_graph']
    out = run([COMPARE, str(tmp_path / 'onnx.pkl'),
               str(tmp_path / 'pytorch.pkl')], tmp_path)
    # every image has the same detections (tiny, initial weights: more than
    # 5 each)
    assert re.search(r'^2 of 2 images with the same detections; (\d+) of '
                     r'\1 detections matched', out), out
    assert int(re.search(r'(\d+) detections matched', out).group(1)) > 10


def test_a_file_not_written_by_the_export_is_named(tiny_coco, tmp_path):
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node('Identity', ['image'], ['boxes'])], 'g',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1])])
    other = tmp_path / 'other.onnx'
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)]), str(other))
    damaged = tmp_path / 'damaged.onnx'
    damaged.write_bytes(b'not a model')
    for path, message in (
            (other, 'was not written by tools/deployment/export_onnx.py'),
            (damaged, 'ONNX Runtime .* cannot load it'),
            (tmp_path / 'missing.onnx', 'no such file')):
        proc = subprocess.run(
            [sys.executable, TEST, TINY_CONFIG, str(path), '--work-dir',
             str(tmp_path / 'w'), '--cfg-options'] +
            tiny_data_options(tiny_coco),
            capture_output=True, text=True, cwd=str(tmp_path))
        assert proc.returncode != 0
        assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
        assert re.search(message, proc.stderr.splitlines()[-1]), \
            proc.stderr[-500:]
