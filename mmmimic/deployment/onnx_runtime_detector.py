"""An exported ONNX detector run by ONNX Runtime as an MMEngine model, so that
``tools/test.py CONFIG MODEL.onnx`` evaluates it with the config's test
dataloader and metric exactly as it evaluates a checkpoint."""
import json
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmmimic.registry import MODELS

from .onnx_export import PREPROCESS_KEY
from .onnx_input import IMAGE, takes_uint8


def onnx_session(onnx_file: str, threads: Optional[int] = None,
                 providers: Optional[List[str]] = None):
    """An ONNX Runtime session on ``onnx_file`` (CPU unless ``providers``
    say otherwise) with ``threads`` intra-op threads (default: torch's)."""
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError(
            'running an .onnx model needs onnxruntime: pip install -r '
            'requirements/deploy.txt') from err
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'{onnx_file}: no such file')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(onnx_file, options,
                                    providers=providers or
                                    ['CPUExecutionProvider'])
    except Exception as err:   # onnxruntime's own Fail / InvalidGraph ...
        reason = str(err).strip().splitlines()[0][:300]
        raise ValueError(
            f'{onnx_file}: ONNX Runtime {ort.__version__} cannot load it '
            f'({reason}); export it again with '
            'tools/deployment/export_onnx.py') from None


def export_metadata(session, onnx_file: str) -> dict:
    """What ``tools/deployment/export_onnx.py`` wrote into the file: the
    preprocessing and the input size; refuses a file without it."""
    meta = session.get_modelmeta().custom_metadata_map
    if PREPROCESS_KEY not in meta:
        raise ValueError(
            f'{onnx_file} has no {PREPROCESS_KEY!r} metadata: it was not '
            'written by tools/deployment/export_onnx.py; export it with '
            'that tool')
    return json.loads(meta[PREPROCESS_KEY])


@MODELS.register_module()
class OnnxRuntimeDetector(BaseModel):
    """A detector exported by ``tools/deployment/export_onnx.py``, predicting
    through ONNX Runtime.

    The preprocessing (BGR->RGB, mean, std, padding) is read from the file's
    metadata, where the export wrote the detector's own; each image is then
    padded with the pad value to the graph's fixed input size (a file with
    the preprocessing in its graph gets the uint8 BGR image as the test
    pipeline leaves it), and the boxes
    the graph returns (in the resized image's pixels) are divided by the
    sample's ``scale_factor``, as mmdet's ``rescale=True`` does.

    Args:
        onnx_file (str): The exported file.
        threads (int, optional): ONNX Runtime's intra-op threads (default:
            torch's thread count).
    """

    def __init__(self, onnx_file: str, threads: Optional[int] = None) -> None:
        from mmdet.models.data_preprocessors import DetDataPreprocessor
        self.session = onnx_session(onnx_file, threads)
        spec = export_metadata(self.session, onnx_file)
        self.uint8_input = takes_uint8(spec)
        # (a file with the preprocessing inside gets the batch as loaded)
        super().__init__(data_preprocessor=DetDataPreprocessor() if
                         self.uint8_input else DetDataPreprocessor(
            mean=spec['mean'], std=spec['std'], bgr_to_rgb=spec['bgr_to_rgb'],
            pad_size_divisor=spec['pad_size_divisor'],
            pad_value=spec['pad_value']))
        self.onnx_file = onnx_file
        self.input_shape = tuple(spec['input_shape'])
        self.pad_value = spec['pad_value']

    def graph_input(self, inputs: torch.Tensor, sample) -> np.ndarray:
        """(1, 3, H, W) float32: the image of ``sample`` from the
        preprocessed batch, padded to the graph's input size; for a file with
        the preprocessing inside, (h, w, 3) uint8 BGR: the image itself."""
        height, width = sample.metainfo.get('img_shape', inputs.shape[-2:])
        top_h, top_w = self.input_shape
        if height > top_h or width > top_w:
            raise ValueError(
                f'{self.onnx_file} takes images up to {top_h}x{top_w} (H x '
                f'W), this one is {height}x{width} after the test pipeline; '
                'export again with --shape covering the largest image')
        if self.uint8_input:   # (the batch's values are the uint8 ones)
            return inputs[:, :height, :width].round().clamp(0, 255).to(
                torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
        image = inputs.new_full((1, 3, top_h, top_w), self.pad_value)
        image[0, :, :height, :width] = inputs[:, :height, :width]
        return image.float().cpu().numpy()

    def forward(self, inputs: torch.Tensor, data_samples=None,
                mode: str = 'predict'):
        if mode != 'predict':
            raise ValueError(f'OnnxRuntimeDetector only predicts (mode '
                             f'{mode!r}): an exported file cannot train')
        for image, sample in zip(inputs, data_samples):
            boxes, scores, labels = self.session.run(
                None, {IMAGE: self.graph_input(image, sample)})
            boxes = torch.from_numpy(boxes)
            factor = sample.metainfo.get('scale_factor')
            if factor is not None:
                boxes = boxes / boxes.new_tensor(
                    [factor[0], factor[1], factor[0], factor[1]])
            sample.pred_instances = InstanceData(
                bboxes=boxes, scores=torch.from_numpy(scores),
                labels=torch.from_numpy(labels).long())
        return data_samples
