"""Where a feature-mimic loss falls, measured on training batches: the share
of the whole-map squared error that lies on objects, and how much one step's
region loss varies from batch to batch with and without normalisation.

    python tools/analysis_tools/mimic_loss_share.py CONFIG [--checkpoint CK] \
        [--num-batches 50] [--seed 0] [--out share.json] [--cfg-options k=v ...]

CONFIG is a mimic config. With ``--checkpoint`` the student is that run's;
without, it is at its initialisation (seeded by ``--seed``), as training
starts. The teacher comes from ``model.teacher_ckpt``. Batches are the
config's training batches (its batch size, its training pipeline without the
random flip) in an order drawn from ``--seed``; the regions are the student's
own (its RPN with the training proposal settings, then ``mimic_sampler``).

Printed per mimicked level, over all batches:

- ``object cells``: share of map cells whose centre lies in a ground-truth box;
- ``error on objects``: share of the whole-map squared error
  ``sum_c (r(f_s) - f_t)^2`` on those cells (what whole-map mimic spends on
  objects; the rest is background);
- ``error in regions``: share of it inside the mimic regions, and the share
  of cells those regions cover;
- per-batch region loss (the config's mimic term with weight 1) with and
  without normalisation: mean and coefficient of variation (std / mean), the
  batch-to-batch spread that normalisation is meant to tame.
"""
import argparse
import copy
import json
import logging
import math
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

import mmmimic  # noqa: F401
from mmmimic.utils import register_all_modules
from mmmimic.utils.atomic import atomic_write_bytes, check_destination
from mmmimic.utils.cli import UsageError, int_at_least, positive_int
from mmmimic.utils.config_file import read_mimic_config
from mmmimic.utils.model_checkpoint import load_checked_weights


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='mimic config')
    parser.add_argument('--checkpoint', help='checkpoint of the mimic run '
                        '(default: the student at its initialisation)')
    parser.add_argument('--num-batches', type=positive_int, default=50,
                        help='training batches to measure (default 50)')
    parser.add_argument('--seed', type=int_at_least(0), default=0,
                        help='batch order, region sampling and, without '
                        '--checkpoint, the student\'s initialisation')
    parser.add_argument('--out', help='also write the figures here (.json)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def object_mask(boxes: torch.Tensor, height: int, width: int,
                stride: float) -> torch.Tensor:
    """(H, W) bool: cells whose centre ``((j + .5) s, (i + .5) s)`` lies in
    one of ``boxes`` (K, 4), given in the pixels the map is strided from."""
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) * stride
    if boxes.numel() == 0:
        return torch.zeros(height, width, dtype=torch.bool)
    boxes = boxes.float().cpu()
    inside_y = (ys[None, :] >= boxes[:, 1:2]) & (ys[None, :] < boxes[:, 3:4])
    inside_x = (xs[None, :] >= boxes[:, 0:1]) & (xs[None, :] < boxes[:, 2:3])
    return (inside_y[:, :, None] & inside_x[:, None, :]).any(0)


def training_batches(cfg, num_batches: int, seed: int):
    """The config's training batches in a seeded order (no random flip)."""
    from mmengine.dataset import pseudo_collate

    from mmmimic.registry import DATASETS, build_in_config_scope
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.pipeline = [t for t in dataset_cfg.pipeline
                            if 'RandomFlip' not in t['type']]
    # in the config's scope, as the runner builds it
    dataset = build_in_config_scope(
        dict(default_scope=cfg.get('default_scope'), dataset=dataset_cfg),
        DATASETS, key='dataset')
    batch_size = cfg.train_dataloader.batch_size
    order = np.random.default_rng(seed).permutation(len(dataset))
    for b in range(min(num_batches, len(dataset) // batch_size)):
        items = [dataset[int(i)] for i in
                 order[b * batch_size:(b + 1) * batch_size]]
        yield pseudo_collate(items)


def measure(model, batches, seed: int) -> List[Dict[str, float]]:
    """Per mimicked level: summed errors and cells, and per-batch losses."""
    term = model.mimic_loss
    if term is None or getattr(term, 'mode', None) == 'global':
        raise UsageError('the config has no region mimic_loss to measure '
                         '(mimic_loss is None or whole-map); use the config '
                         'whose regions you want to compare')
    versions = {}
    for normalize in (True, False):
        versions[normalize] = copy.copy(term)
        versions[normalize].normalize = normalize
        versions[normalize].loss_weight = 1.0
    proposal_cfg = model.train_cfg.get('rpn_proposal', model.rpn_head.test_cfg)
    levels = [dict(cells=0, object_cells=0, region_cells=0, error=0.0,
                   object_error=0.0, region_error=0.0)
              for _ in model.mimic_levels]
    losses = {True: [], False: []}
    test_cfg = model.rpn_head.test_cfg
    model.rpn_head.test_cfg = proposal_cfg
    try:
        for index, data in enumerate(batches):
            torch.manual_seed(seed * 100003 + index)
            batch = model.data_preprocessor(data, True)
            inputs, samples = batch['inputs'], batch['data_samples']
            with torch.no_grad():
                teacher_x = model.teacher_features(inputs)
                s_inputs, s_samples, scale = model.student_view(inputs,
                                                                samples)
                x = model.extract_feat(s_inputs)
                student, teacher = model.mimic_pairs(x, teacher_x)
                proposals = model.rpn_head.predict(x, s_samples,
                                                   rescale=False)
                _, rois, _ = model.mimic_regions(proposals, s_samples, scale)
                for normalize, version in versions.items():
                    losses[normalize].append(float(version(
                        student, teacher, rois, model.mimic_strides)))
            for lvl, (s, t) in enumerate(zip(student, teacher)):
                stride = float(model.mimic_strides[lvl])
                error = (s - t).double().pow(2).sum(1)     # (B, H, W)
                height, width = error.shape[-2:]
                for b, sample in enumerate(samples):
                    objects = object_mask(sample.gt_instances.bboxes, height,
                                          width, stride)
                    mine = rois[rois[:, 0] == b, 1:]
                    regions = object_mask(mine, height, width, stride)
                    e = error[b].cpu()
                    acc = levels[lvl]
                    acc['cells'] += height * width
                    acc['object_cells'] += int(objects.sum())
                    acc['region_cells'] += int(regions.sum())
                    acc['error'] += float(e.sum())
                    acc['object_error'] += float(e[objects].sum())
                    acc['region_error'] += float(e[regions].sum())
    finally:
        model.rpn_head.test_cfg = test_cfg
    rows = []
    for lvl, acc in enumerate(levels):
        row = dict(level=lvl, batches=len(losses[True]),
                   object_cells=acc['object_cells'] / acc['cells'],
                   error_on_objects=acc['object_error'] / acc['error'],
                   region_cells=acc['region_cells'] / acc['cells'],
                   error_in_regions=acc['region_error'] / acc['error'])
        for normalize, name in ((True, 'normalised'), (False, 'summed')):
            values = np.asarray(losses[normalize])
            row[f'{name}_loss_mean'] = float(values.mean())
            row[f'{name}_loss_cv'] = float(values.std() / values.mean()) \
                if values.mean() > 0 else math.nan
        rows.append(row)
    return rows


def main(argv: Optional[List[str]] = None) -> List[Dict[str, float]]:
    """Run the measurement; returns one dict per mimicked level."""
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    from mmmimic.registry import build_in_config_scope
    cfg = read_mimic_config(args.config, args.cfg_options)
    inputs = [args.config] + ([args.checkpoint] if args.checkpoint else [])
    if args.out:
        check_destination(args.out, inputs, overwrite=True, suffix='.json',
                          flag='--out', cfg=cfg)
    torch.manual_seed(args.seed)
    model = build_in_config_scope(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)    # (init_weights lists every tensor)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    if args.checkpoint:
        load_checked_weights(model, args.checkpoint)
    model.train()      # (loads the teacher; BN on batch statistics)
    rows = measure(model, training_batches(cfg, args.num_batches, args.seed),
                   args.seed)
    student = args.checkpoint or f'initialisation (seed {args.seed})'
    print(f'{args.config}\nstudent: {student}; {rows[0]["batches"]} batches')
    print('level | object cells | error on objects | region cells | error in '
          'regions | normalised loss: mean, CV | summed loss: mean, CV')
    for r in rows:
        print(f'{r["level"]} | {100 * r["object_cells"]:.1f} % | '
              f'{100 * r["error_on_objects"]:.1f} % | '
              f'{100 * r["region_cells"]:.1f} % | '
              f'{100 * r["error_in_regions"]:.1f} % | '
              f'{r["normalised_loss_mean"]:.4g}, {r["normalised_loss_cv"]:.3f}'
              f' | {r["summed_loss_mean"]:.4g}, {r["summed_loss_cv"]:.3f}')
    if args.out:
        atomic_write_bytes(args.out, json.dumps(
            dict(config=args.config, student=student, seed=args.seed,
                 levels=rows), indent=2).encode())
        print(f'saved: {args.out}')
    return rows


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
