from typing import Tuple

import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import SampleList
from torch import Tensor

from mmmimic.registry import MODELS

# metainfo keys that resize with the image (stored as (h, w))
SHAPE_KEYS = ('img_shape', 'pad_shape', 'batch_input_shape')


def rescale_boxes(boxes, sx: float, sy: float):
    """Boxes (tensor or mmdet box type) scaled by sx horizontally, sy vertically."""
    if hasattr(boxes, 'rescale_'):      # mmdet box types
        boxes = boxes.clone()
        boxes.rescale_((sx, sy))
        return boxes
    return boxes * boxes.new_tensor([sx, sy, sx, sy])


def scale_batch(inputs: Tensor, data_samples: SampleList, scale: float,
                with_gt: bool) -> Tuple[Tensor, SampleList, Tuple[float, float]]:
    """Resize a preprocessed batch by ``scale`` and what goes with it.

    The images are resized bilinearly; ``img_shape``, ``pad_shape``,
    ``batch_input_shape`` and ``scale_factor`` follow, so predictions rescaled
    with ``scale_factor`` land in the original image coordinates.

    Args:
        inputs (Tensor): (B, C, H, W) normalised, padded batch.
        data_samples (list[DetDataSample]): Its samples (not modified).
        scale (float): Resize factor; 1 returns the inputs unchanged.
        with_gt (bool): Copy and rescale ground truth (training) or keep only
            the metainfo (test).

    Returns:
        tuple: inputs (B, C, round(H*scale), round(W*scale)), new data
        samples, and the applied ``(sx, sy)``.
    """
    if scale == 1.0:
        return inputs, data_samples, (1.0, 1.0)
    height, width = inputs.shape[-2:]
    new_h = max(1, int(round(height * scale)))
    new_w = max(1, int(round(width * scale)))
    sx, sy = new_w / width, new_h / height
    inputs = F.interpolate(inputs, size=(new_h, new_w), mode='bilinear',
                           align_corners=False)
    samples = []
    for sample in data_samples:
        sample = sample.clone() if with_gt else sample.new()
        meta = {}
        for key in SHAPE_KEYS:
            if key in sample.metainfo:
                h, w = sample.metainfo[key][:2]
                meta[key] = (int(round(h * sy)), int(round(w * sx)))
        if 'batch_input_shape' in meta:
            meta['batch_input_shape'] = (new_h, new_w)
        factor = sample.metainfo.get('scale_factor', (1.0, 1.0))
        meta['scale_factor'] = (factor[0] * sx, factor[1] * sy)
        sample.set_metainfo(meta)
        if with_gt:
            for key in ('gt_instances', 'ignored_instances'):
                if key in sample and 'bboxes' in sample.get(key):
                    instances = sample.get(key)
                    instances.bboxes = rescale_boxes(instances.bboxes, sx, sy)
        samples.append(sample)
    return inputs, samples, (sx, sy)


@MODELS.register_module()
class ScaledDetDataPreprocessor(DetDataPreprocessor):
    """:class:`DetDataPreprocessor`, then the batch resized by ``input_scale``.

    The deployed form of a mimic student trained with
    ``FeatureMimicDistiller(student_input_scale=s)``: the student runs on the
    resized batch and, through ``scale_factor``, predicts in the original
    image coordinates, exactly as inside the distiller. Also the way to train
    a reduced-input student alone.

    Args:
        input_scale (float): Resize factor of the preprocessed batch (> 0).
        **kwargs: :class:`DetDataPreprocessor`'s arguments.
    """

    def __init__(self, input_scale: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if not input_scale > 0:
            raise ValueError(
                f'ScaledDetDataPreprocessor: input_scale must be > 0, got '
                f'{input_scale}')
        self.input_scale = float(input_scale)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess, then resize. Test-time samples keep only metainfo
        (scaled); training samples keep their rescaled ground truth."""
        data = super().forward(data, training)
        inputs, samples, _ = scale_batch(
            data['inputs'], data['data_samples'] or [], self.input_scale,
            with_gt=training)
        return dict(inputs=inputs, data_samples=samples)
