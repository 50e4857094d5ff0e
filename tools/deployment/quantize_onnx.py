"""Quantize an exported detector to INT8 (static, post-training) with ONNX
Runtime's own quantization tools.

    python tools/deployment/quantize_onnx.py CONFIG MODEL.onnx OUT.int8.onnx \
        [--images 64] [--method minmax|percentile|entropy] [--per-tensor] \
        [--float-backbone] [--overwrite] [--cfg-options k=v ...]

MODEL.onnx is a file of ``tools/deployment/export_onnx.py`` and CONFIG the
config it was exported from. Convolutions and matrix products (Conv, MatMul,
Gemm) are quantized in the QDQ format, weights per output channel, activations
per tensor, both signed 8-bit; NonMaxSuppression, RoiAlign and the box
arithmetic stay in float; with ``--float-backbone`` the backbone and neck do
too, and only the heads are quantized. Activation ranges are calibrated on ``--images``
images of the config's training set (evenly spaced; the test split is
refused), resized by the test pipeline and prepared as the file's metadata
says. The settings go into OUT's metadata (``mmmimic.quantization``).

Score it with the same metric as the float file and the checkpoint::

    python tools/test.py CONFIG OUT.int8.onnx --out int8.pkl
    python tools/analysis_tools/compare_predictions.py int8.pkl fp32.pkl

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
from mmmimic.deployment.onnx_quantize import (  # noqa: E402
    CALIBRATION_METHODS,
    quantize_onnx,
)
from mmmimic.utils import register_all_modules  # noqa: E402
from mmmimic.utils.cli import int_at_least  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Static INT8 quantization of an exported ONNX detector')
    parser.add_argument('config', help='the config the file was exported '
                        'from (its training set calibrates)')
    parser.add_argument('model', help='the FP32 .onnx file of '
                        'tools/deployment/export_onnx.py')
    parser.add_argument('out', help='the INT8 .onnx file to write')
    parser.add_argument('--images', type=int_at_least(1, 100000), default=64,
                        help='calibration images from the training set, '
                        'evenly spaced (default 64)')
    parser.add_argument('--method', choices=CALIBRATION_METHODS,
                        default='minmax',
                        help='ONNX Runtime calibration method (default '
                        'minmax)')
    parser.add_argument('--per-tensor', action='store_true',
                        help='one scale per weight tensor instead of per '
                        'output channel')
    parser.add_argument('--float-backbone', action='store_true',
                        help='leave the backbone and neck in float, quantize '
                        'the heads only (faster where the backbone\'s INT8 '
                        'kernels are not, e.g. MobileNetV2 on CPU)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override keys of the config first (e.g. '
                        'train_dataloader.dataset.data_root=...)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    result = quantize_onnx(args.config, args.model, args.out,
                           num_images=args.images, method=args.method,
                           per_channel=not args.per_tensor,
                           overwrite=args.overwrite,
                           cfg_options=args.cfg_options,
                           float_backbone=args.float_backbone)
    before, after = result['bytes']
    quantized = ', '.join(f'{n} {op}' for op, n in
                          sorted(result['quantized'].items()))
    print(f'{result["out"]}: {quantized} in INT8 (calibrated on '
          f'{result["images"]} training images, {args.method}); left in '
          f'float: {", ".join(result["float_ops"])}\n'
          f'size: {before / 2**20:.2f} MiB -> {after / 2**20:.2f} MiB')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
