"""Show what a mimic run compares: teacher map, adapted student map, their
squared error and the mimic regions, side by side.

    python tools/analysis_tools/vis_mimic_features.py CONFIG CHECKPOINT IMAGE \
        --out features.png [--level 0] [--num-regions 32] [--cfg-options k=v ...]

CONFIG is a mimic config, CHECKPOINT a checkpoint of its run (the teacher comes
from ``model.teacher_ckpt``). The image goes through the config's test pipeline;
the student sees it as in training (``student_input_scale`` included), the maps
are those the mimic loss compares (after the adapter, aligned), shown as the L2
norm over channels; the regions are the student's top proposals as the mimic
sampler picks them (no ground truth at hand, so all are drawn alike).
"""
import argparse

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import Compose
from mmengine.structures import InstanceData

import mmmimic  # noqa: F401
from mmmimic.utils import register_all_modules
from mmmimic.utils.atomic import check_destination
from mmmimic.utils.cli import (
    UsageError,
    int_at_least,
    positive_int,
    torch_device,
)
from mmmimic.utils.config_file import read_mimic_config
from mmmimic.utils.input_files import check_image_file
from mmmimic.utils.model_checkpoint import load_checked_weights
from mmmimic.visualization import save_figure


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='mimic config')
    parser.add_argument('checkpoint', help='checkpoint of the mimic run')
    parser.add_argument('image', help='image file')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--level', type=int_at_least(0), default=0,
                        help='which mimicked level (index into mimic_levels)')
    parser.add_argument('--num-regions', type=positive_int, default=32,
                        help='regions to draw (top-scoring)')
    parser.add_argument('--device', type=torch_device, default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def mimic_views(model, data: dict, level: int, num_regions: int) -> dict:
    """Maps (H, W) and regions (K, 4, image pixels of the shown image)."""
    batch = model.data_preprocessor(data, False)
    inputs, samples = batch['inputs'], batch['data_samples']
    with torch.no_grad():
        s_inputs, s_samples, (sx, sy) = model.student_view(
            inputs, samples, with_gt=False)
        x = model.extract_feat(s_inputs)
        teacher_x = model.teacher_features(inputs)
        student, teacher = model.mimic_pairs(x, teacher_x)
        s_map, t_map = student[level][0], teacher[level][0]
        proposals = model.rpn_head.predict(x, s_samples, rescale=False)[0]
        sampler = model.mimic_sampler
        num = sampler.num
        sampler.num = num_regions
        try:
            no_gt = InstanceData(bboxes=proposals.bboxes.new_zeros((0, 4)))
            regions, _ = sampler.sample(proposals, no_gt)
        finally:
            sampler.num = num
    # student input -> batch (teacher) pixels; the batch is the resized image
    regions = regions / regions.new_tensor([sx, sy, sx, sy])
    return dict(
        teacher=t_map.norm(dim=0).cpu().numpy(),
        student=s_map.norm(dim=0).cpu().numpy(),
        error=(s_map - t_map).pow(2).sum(dim=0).cpu().numpy(),
        regions=regions.cpu().numpy(),
        image_shape=samples[0].img_shape)


def draw(views: dict, image: np.ndarray, path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    height, width = views['image_shape']
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2), dpi=110)
    axes[0].imshow(image)
    for x1, y1, x2, y2 in views['regions']:
        axes[0].add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                    edgecolor='lime', linewidth=1))
    axes[0].set_title(f'mimic regions (top {len(views["regions"])})')
    panels = [('teacher', 'teacher map |f_t|'),
              ('student', 'student map after adapter |r(f_s)|'),
              ('error', 'squared error |r(f_s) - f_t|^2')]
    for ax, (key, label) in zip(axes[1:], panels):
        shown = ax.imshow(views[key], cmap='magma' if key == 'error'
                          else 'viridis')
        fig.colorbar(shown, ax=ax, fraction=0.035)
        ax.set_title(label)
    for ax in axes:
        ax.axis('off')
    axes[0].set_xlim(0, width)
    axes[0].set_ylim(height, 0)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    from mmdet.apis import init_detector
    from mmdet.utils import get_test_pipeline_cfg
    cfg = read_mimic_config(args.config, args.cfg_options)
    # a PNG is replaced; an input or a file the config loads never
    check_destination(args.out, [args.config, args.checkpoint, args.image],
                      overwrite=True, flag='--out', cfg=cfg,
                      suffix='.png')
    check_image_file(args.image)
    # weights through the safe loader (a pickle that would run code is
    # refused, another model's checkpoint named), not mmengine's
    model = init_detector(cfg, None, device=args.device)
    # (missing, damaged, unsafe, another model's: a CheckpointError)
    load_checked_weights(model, args.checkpoint)
    if not 0 <= args.level < len(model.mimic_levels):
        raise UsageError(f'--level {args.level}: the run mimics '
                         f'{len(model.mimic_levels)} level(s)')
    pipeline = Compose(get_test_pipeline_cfg(cfg))
    item = pipeline(dict(img_path=args.image, img_id=0))
    views = mimic_views(model, dict(inputs=[item['inputs']],
                                    data_samples=[item['data_samples']]),
                        args.level, args.num_regions)
    # the shown image is the network's input (resized by the test pipeline)
    image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]   # BGR -> RGB
    s_lvl, t_lvl = model.mimic_levels[args.level]
    draw(views, image, args.out,
         f'{args.config} | student level {s_lvl} vs teacher level {t_lvl} | '
         f'{args.image}')
    print(f'saved: {args.out}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
