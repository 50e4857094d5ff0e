"""Tiny teacher/student detectors and batches for model tests (CPU, seconds)."""
import copy
import os.path as osp

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from mmmimic.registry import MODELS

from ..conftest import REPO_ROOT, TINY_CONFIG


def build(cfg):
    """Build as the runner does: from a ConfigDict, in the mmmimic scope."""
    with DefaultScope.overwrite_default_scope('mmmimic'):
        return MODELS.build(ConfigDict(cfg))


def training_distiller(cfg):
    """A distiller built as the runner does, in train mode; a teacher
    without checkpoint (initial weights) is accepted without its warning."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = build(cfg)
        model.train()
    return model


def save_tiny_teacher(folder) -> tuple:
    """A checkpoint of the tiny teacher (base width 16) as a runner saves it,
    in ``folder``: its path and the state dict."""
    torch.manual_seed(0)
    teacher = build(tiny_detector(16))
    path = folder / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(iter=1)), path)
    return str(path), teacher.state_dict()


def tiny_detector(base_channels: int = 8) -> dict:
    """The tiny Faster R-CNN of tests/data (stride 16, 4*base_channels wide)."""
    model = copy.deepcopy(Config.fromfile(TINY_CONFIG).model.to_dict())
    width = 4 * base_channels
    model['backbone']['base_channels'] = base_channels
    model['rpn_head'].update(in_channels=width, feat_channels=width)
    model['roi_head']['bbox_roi_extractor']['out_channels'] = width
    model['roi_head']['bbox_head']['in_channels'] = width
    return model


def distiller_cfg(teacher_ckpt=None, student_base=8, teacher_base=16,
                  **kwargs) -> dict:
    """A FeatureMimicDistiller: student `student_base`, teacher `teacher_base`,
    a 1x1 adapter when their widths differ."""
    student = tiny_detector(student_base)
    student['type'] = 'FeatureMimicDistiller'
    cfg = dict(student, teacher_config=dict(model=tiny_detector(teacher_base)),
               teacher_ckpt=teacher_ckpt)
    if student_base != teacher_base:
        cfg['mimic_adapter'] = dict(type='DeconvNeck', in_channels=4 * student_base,
                                    out_channels=4 * teacher_base,
                                    scale_factor=1)
    cfg.update(kwargs)
    return cfg


def batch(model, batch_size=2, shape=(3, 96, 128), num_items=(3, 2), seed=0,
          training=True):
    """A preprocessed batch: noise images with bright boxes, class 0, seeded.

    Returns:
        tuple: inputs (B, 3, H', W') and data samples, after the model's
        data preprocessor.
    """
    g = torch.Generator().manual_seed(seed)
    _, height, width = shape
    images, samples = [], []
    for i in range(batch_size):
        image = torch.randint(0, 60, shape, generator=g, dtype=torch.uint8)
        boxes = []
        for _ in range(num_items[i]):
            h = int(torch.randint(20, height - 4, (1, ), generator=g))
            w = max(8, h // 2)
            x = int(torch.randint(0, width - w, (1, ), generator=g))
            y = int(torch.randint(0, height - h, (1, ), generator=g))
            image[:, y:y + h, x:x + w] = 200
            boxes.append([x, y, x + w, y + h])
        sample = DetDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width),
            pad_shape=(height, width), scale_factor=(1.0, 1.0),
            img_id=i, img_path=f'img_{i}.jpg'))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        images.append(image)
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   training)
    return data['inputs'], data['data_samples']


def tiny_inception_detector(kind: str = 'rfcn',
                            widen_factor: float = 0.125) -> dict:
    """A thin-Inception Faster R-CNN or R-FCN from configs/_base_/models, with
    small heads (R-FCN: 3x3 bins, 32-wide reduction)."""
    path = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                    f'{kind}_inception-v3-s16.py')
    model = Config.fromfile(path).model.to_dict()
    channels = int(768 * widen_factor)
    # from scratch, nothing frozen (the base model is the ImageNet teacher's)
    model['backbone'].update(widen_factor=widen_factor, init_cfg=None,
                             frozen_stages=-1)
    model['rpn_head'].update(in_channels=channels, feat_channels=channels)
    roi_head = model['roi_head']
    if kind == 'rfcn':
        roi_head['bbox_head'].update(in_channels=channels, reduce_channels=32,
                                     group_size=3)
        roi_head['bbox_roi_extractor']['roi_layer']['output_size'] = 3
    else:
        roi_head['bbox_head'].update(in_channels=channels, fc_out_channels=64)
        roi_head['bbox_roi_extractor']['out_channels'] = channels
    return model
