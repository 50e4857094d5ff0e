"""How good are the teacher's and the student's second stages on the mimic
regions? (What two-stage mimic hands the student as targets.)

    python tools/analysis_tools/rcnn_on_mimic_regions.py CONFIG CHECKPOINT \
        [--images 200] [--out stats.json] [--cfg-options k=v ...]

CONFIG is a mimic config (it names the teacher and the region sampler);
CHECKPOINT holds the student's weights: a checkpoint of that mimic run, or of
the student trained alone under the student's config (its keys are the
student's; the adapter, which this tool does not use, may be absent). The first
``--images`` images of the config's test annotation file go through its test
pipeline with their boxes; on each, the student proposes regions as in
training (``train_cfg.rpn_proposal``), the mimic sampler picks the regions,
and both RoI heads run on them (batch-norm layers in eval mode: the networks
as deployed). Per detector: classification accuracy and cross-entropy against
the regions' ground-truth labels (positive: the class of the box it matches;
negative: background), the regression error of the positives against their
ground-truth deltas (the box coder's normalised targets, mean squared), and
KL(teacher || student) of the class scores.
"""
import argparse
import json
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from mmengine.dataset import Compose, pseudo_collate
from torch.nn.modules.batchnorm import _BatchNorm

import mmmimic  # noqa: F401
from mmmimic.utils import register_all_modules
from mmmimic.utils.atomic import (
    atomic_write_bytes,
    check_destination,
)
from mmmimic.utils.cli import positive_int
from mmmimic.utils.compat import bbox_forward
from mmmimic.utils.config_file import read_mimic_config

ROLES = ('teacher', 'student')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='mimic config')
    parser.add_argument('checkpoint', help="checkpoint with the student's "
                        'weights (of the mimic run or of the student alone)')
    parser.add_argument('--images', type=positive_int, default=200,
                        help='test images to use (the first ones)')
    parser.add_argument('--out', help='JSON file to write the figures to')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error(f'--images {args.images}: must be at least 1')
    return args


def build(cfg, checkpoint: str):
    """The distiller with the checkpoint's student weights and the teacher's
    own (both read through the safe loader), BN layers in eval mode."""
    from mmmimic.registry import build_in_config_scope
    from mmmimic.utils.model_checkpoint import load_checked_weights
    model = build_in_config_scope(cfg)
    # the student's keys must all be there; the adapter's may be absent
    load_checked_weights(model, checkpoint,
                         optional_prefixes=('mimic_adapter.', ))
    model.train()     # training's proposal and region path ...
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.eval()   # ... on the networks as deployed
    return model


def region_labels(model, rois: torch.Tensor, positives: torch.Tensor,
                  samples) -> tuple:
    """Ground-truth label of each region (background = num_classes) and, for
    the positives, the matched box (student pixels)."""
    from mmdet.structures.bbox import bbox_overlaps
    head = model.roi_head.bbox_head
    labels = rois.new_full((len(rois), ), head.num_classes, dtype=torch.long)
    matched = rois.new_zeros((len(rois), 4))
    for i, sample in enumerate(samples):
        in_image = rois[:, 0] == i
        gt = sample.gt_instances
        boxes = gt.bboxes.tensor if hasattr(gt.bboxes, 'tensor') \
            else gt.bboxes
        if not len(boxes):
            continue
        iou = bbox_overlaps(rois[in_image, 1:], boxes.to(rois))
        best = iou.argmax(dim=1)
        labels[in_image] = torch.where(positives[in_image],
                                       gt.labels.to(rois.device)[best],
                                       labels[in_image])
        matched[in_image] = boxes.to(rois)[best]
    return labels, matched


def region_figures(model, data: dict) -> Dict[str, torch.Tensor]:
    """Per-region outputs and targets of one batch."""
    batch = model.data_preprocessor(data, True)
    inputs, samples = batch['inputs'], batch['data_samples']
    teacher_x = model.teacher_features(inputs)
    s_inputs, s_samples, scale = model.student_view(inputs, samples)
    x = model.extract_feat(s_inputs)
    metas = [s.metainfo for s in s_samples]
    proposals = model.rpn_head.predict_by_feat(
        *model.rpn_head(x), batch_img_metas=metas,
        cfg=model.train_cfg.rpn_proposal, rescale=False)
    student_rois, teacher_rois, positives = model.mimic_regions(
        proposals, s_samples, scale)
    outputs = dict(
        student=bbox_forward(model.roi_head, x, student_rois),
        teacher=bbox_forward(model.teacher.roi_head, teacher_x,
                             teacher_rois))
    labels, matched = region_labels(model, student_rois, positives,
                                    s_samples)
    head = model.roi_head.bbox_head
    targets = head.bbox_coder.encode(student_rois[positives, 1:],
                                     matched[positives])
    out = dict(labels=labels, positives=positives, targets=targets)
    for role in ROLES:
        out[f'{role}_cls'] = outputs[role]['cls_score'].float()
        reg = outputs[role]['bbox_pred'].float()[positives]
        if reg.shape[1] != 4:   # per class: the matched class's deltas
            reg = reg.view(len(reg), -1, 4)[torch.arange(len(reg)),
                                             labels[positives]]
        out[f'{role}_reg'] = reg
    return out


def summarise(parts: List[Dict[str, torch.Tensor]]) -> dict:
    """Accuracy, cross-entropy and regression error per detector; KL."""
    cat = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    labels, positives = cat['labels'], cat['positives']
    stats = dict(regions=len(labels), positives=int(positives.sum()))
    for role in ROLES:
        cls = cat[f'{role}_cls']
        correct = cls.argmax(dim=1) == labels
        stats[role] = dict(
            accuracy=correct.float().mean().item(),
            accuracy_positives=correct[positives].float().mean().item(),
            accuracy_negatives=correct[~positives].float().mean().item(),
            cross_entropy=F.cross_entropy(cls, labels).item(),
            regression_mse=(cat[f'{role}_reg'] - cat['targets']).pow(2)
            .sum(1).mean().item())
    stats['kl_teacher_student'] = F.kl_div(
        F.log_softmax(cat['student_cls'], dim=1),
        F.softmax(cat['teacher_cls'], dim=1), reduction='batchmean').item()
    stats['regression_mse_student_to_teacher'] = (
        cat['student_reg'] - cat['teacher_reg']).pow(2).sum(1).mean().item()
    return stats


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = read_mimic_config(args.config, args.cfg_options)
    if args.out:
        check_destination(args.out, inputs=[args.config, args.checkpoint],
                          overwrite=args.overwrite, suffix='.json', cfg=cfg)
    # (missing, damaged, unsafe, another model's: a CheckpointError)
    model = build(cfg, args.checkpoint)
    dataset_cfg = cfg.test_dataloader.dataset
    from mmmimic.registry import DATASETS
    pipeline = list(dataset_cfg.pipeline)
    # the test pipeline with the boxes: annotations loaded after the image
    pipeline.insert(1, dict(type='mmdet.LoadAnnotations', with_bbox=True))
    # built in the config's scope, as the runner does: a scoped type such as
    # 'mmdet.LoadImageFromFile' is not found when the current default scope
    # happens to be 'mmdet' itself (MMEngine then searches no parent)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmmimic')):
        dataset = DATASETS.build(dict(dataset_cfg, pipeline=[],
                                      test_mode=False, filter_cfg=None))
        transform = Compose(pipeline)
    parts = []
    from mmengine.utils import ProgressBar
    count = min(args.images, len(dataset))
    bar = ProgressBar(count)
    with torch.no_grad():
        for index in range(count):
            item = transform(dataset.get_data_info(index))
            item['data_samples'].set_metainfo(
                dict(batch_input_shape=item['inputs'].shape[-2:]))
            parts.append(region_figures(model, pseudo_collate([item])))
            bar.update()
    stats = summarise(parts)
    stats.update(config=args.config, checkpoint=args.checkpoint,
                 images=count)
    print()
    print('| detector | accuracy | on positives | on negatives | '
          'cross-entropy | regression MSE (positives) |')
    print('|---|---|---|---|---|---|')
    for role in ROLES:
        s = stats[role]
        print(f"| {role} | {s['accuracy']:.4f} | "
              f"{s['accuracy_positives']:.4f} | "
              f"{s['accuracy_negatives']:.4f} | {s['cross_entropy']:.4f} | "
              f"{s['regression_mse']:.4f} |")
    print(f"{stats['regions']} regions ({stats['positives']} positive) in "
          f"{count} images; KL(teacher || student) "
          f"{stats['kl_teacher_student']:.4f}; student-teacher regression "
          f"MSE {stats['regression_mse_student_to_teacher']:.4f}")
    if args.out:
        atomic_write_bytes(args.out, json.dumps(stats, indent=2).encode())
    return stats


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
