"""Export a trained student as one ONNX file, run by ONNX Runtime.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--shape H W] [--opset N] [--preprocess-in-graph] [--overwrite]
        [--cfg-options k=v ...]

CONFIG and CHECKPOINT are a mimic run's (the student is taken out exactly as
``tools/model_converters/extract_student.py`` does) or a plain detector's
(the teacher, a student trained alone, an exported student).

The file takes ``image``, (1, 3, H, W) float32: the image as the config's
test pipeline resizes it, then as the detector's ``DetDataPreprocessor``
prepares it (BGR->RGB if the config says so, minus ``mean``, divided by
``std``), padded with zeros at the bottom and right to H x W; the values are
in the file's metadata (``mmmimic.preprocess``). A half-input student's
resize is inside the graph. With ``--preprocess-in-graph`` the file takes the
decoded image itself, ``image`` (h, w, 3) uint8 BGR with h <= H and w <= W
(after the test pipeline's resize), and converts, normalises and pads it in
the graph, with the same detections and without the numpy work per image.
It returns ``boxes`` (N, 4, ``x1 y1 x2 y2`` in
that input's pixels: divide by the pipeline's scale factor for the original
image), ``scores`` (N,) and ``labels`` (N,) after the final NMS. The RPN's
NMS, the RoI extraction and the per-class NMS are inside the graph, as the
standard operators NonMaxSuppression and RoiAlign: no custom operator, no
post-processing in Python.

Evaluate it as a checkpoint: ``python tools/test.py CONFIG OUT.onnx``.
Needs ``pip install -r requirements/deploy.txt`` (onnx, onnxruntime).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import mmmimic  # noqa: E402,F401

# isort: split
from mmmimic.deployment import (  # noqa: E402
    export_onnx,
)
from mmmimic.deployment.onnx_export import DEFAULT_OPSET  # noqa: E402
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.cli import int_at_least  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a student (or any supported two-stage detector) '
        'as one ONNX file')
    parser.add_argument('config', help='the mimic config of the run, or a '
                        'detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--shape', type=int_at_least(32, 8192), nargs=2,
                        metavar=('H', 'W'),
                        help='input height and width, 32-8192 each '
                        '(default: the test '
                        'pipeline\'s Resize scale, padded as the '
                        'preprocessor pads)')
    parser.add_argument('--opset', type=int_at_least(16, 20), default=DEFAULT_OPSET,
                        help=f'ONNX opset, 16-20 (default {DEFAULT_OPSET})')
    parser.add_argument('--preprocess-in-graph', action='store_true',
                        help='the file takes the uint8 BGR image (h, w, 3), '
                        'h <= H and w <= W, and converts, normalises and '
                        'pads it itself')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override keys of the config first')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    result = export_onnx(args.config, args.checkpoint, args.out,
                         shape=args.shape, opset=args.opset,
                         overwrite=args.overwrite, cfg_options=args.cfg_options,
                         preprocess_in_graph=args.preprocess_in_graph)
    height, width = result['shape']
    image = f'(h <= {height}, w <= {width}, 3) uint8 BGR' \
        if args.preprocess_in_graph else f'(1, 3, {height}, {width}) float32'
    print(f'{result["out"]}: input image {image}, opset '
          f'{result["opset"]}, operators {", ".join(result["ops"])}\n'
          f'preprocess: {result["preprocess"]}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
