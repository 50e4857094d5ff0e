"""Deployment: the student as one ONNX file, run by ONNX Runtime. Importing
this package needs neither onnx nor onnxruntime; the export and the runtime
model import them when used (requirements/deploy.txt)."""
from .onnx_export import (
    OnnxExportError,
    UnsupportedForOnnx,
    default_shape,
    export_onnx,
)
from .onnx_graph import OnnxTwoStageGraph, check_supported
from .onnx_runtime_detector import OnnxRuntimeDetector, onnx_session

__all__ = [
    'OnnxExportError', 'OnnxRuntimeDetector', 'OnnxTwoStageGraph',
    'UnsupportedForOnnx', 'check_supported', 'default_shape', 'export_onnx',
    'onnx_session'
]
