"""Cost of the mimic loss itself: RoIMimicLoss modes against a naive loop.

    python benchmarks/mimic_loss.py [--num-rois 64 256 512 2048]
        [--channels 256 512] [--maps 40x30 80x60 120x90] [--device cpu|cuda]
        [--quick] [--json PATH]

Forward + backward time of ``RoIMimicLoss`` in ``pixel``, ``roi_align`` and
``spp`` modes and of a naive per-RoI loop (crop both maps, squared error, mean),
on stride-16 maps of batch 2 with RoIs spread over the images, with ratios to the
naive loop. Then the pixel loss's share of a training step of the paper's
student (1/2-Inception Faster R-CNN, 640x480, batch 2) at 512 RoIs per image.
Goal: under 2 %.
"""
import argparse
import os.path as osp
import sys

import torch

import mmmimic  # noqa: F401
from mmmimic.models import RoIMimicLoss
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import (
    add_json_arguments,
    check_json_destination,
    interleaved_timings,
    markdown_table,
    timing,
    write_json,
)
from mmmimic.utils.cli import image_size, positive_int, torch_device

STRIDE = 16


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-rois', type=positive_int, nargs='+',
                        default=[64, 256, 512, 2048])
    parser.add_argument('--channels', type=positive_int, nargs='+', default=[256, 512])
    parser.add_argument('--maps', nargs='+', type=image_size(4, 1024),
                        default=['40x30', '80x60', '120x90'],
                        help='map sizes WxH (stride 16), 4-1024 each')
    parser.add_argument('--repeats', type=positive_int, default=5)
    parser.add_argument('--device', type=torch_device, default='cpu')
    parser.add_argument('--quick', action='store_true',
                        help='one small setting, 1 repeat (for tests)')
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    return args


def make_rois(n: int, batch: int, width: int, height: int,
              g: torch.Generator) -> torch.Tensor:
    """(n, 5) RoIs from 16 px to half the image, in image pixels."""
    w_img, h_img = width * STRIDE, height * STRIDE
    size = torch.rand(n, 2, generator=g) * torch.tensor(
        [w_img / 2 - 16, h_img / 2 - 16]) + 16
    x1 = torch.rand(n, generator=g) * (w_img - size[:, 0])
    y1 = torch.rand(n, generator=g) * (h_img - size[:, 1])
    index = torch.arange(n) % batch
    return torch.stack([index.float(), x1, y1, x1 + size[:, 0],
                        y1 + size[:, 1]], 1)


def naive_loss(student: torch.Tensor, teacher: torch.Tensor,
               rois: torch.Tensor) -> torch.Tensor:
    """Pixel mimic one RoI at a time: the cells a RoI covers, squared error
    summed over channels, averaged over its cells, then over the RoIs."""
    losses = []
    height, width = student.shape[-2:]
    for b, x1, y1, x2, y2 in rois.tolist():
        c0 = min(max(int(x1 // STRIDE), 0), width - 1)
        r0 = min(max(int(y1 // STRIDE), 0), height - 1)
        c1 = min(max(int(-(-x2 // STRIDE)), c0 + 1), width)
        r1 = min(max(int(-(-y2 // STRIDE)), r0 + 1), height)
        diff = student[int(b), :, r0:r1, c0:c1] - teacher[int(b), :, r0:r1,
                                                           c0:c1]
        losses.append(diff.pow(2).sum(0).mean())
    return torch.stack(losses).mean()


def forward_backward(loss_fn, student, teacher, rois):
    def run():
        loss = loss_fn(student, teacher, rois)
        torch.autograd.grad(loss, student)
    return run


def student_step(device: str, repeats: int):
    """The :class:`~mmmimic.utils.benchmark.Timing` of one training step of
    the paper's 1/2-Inception Faster R-CNN student (batch 2, 640x480)."""
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    from mmmimic.registry import build_in_config_scope
    from mmmimic.utils.benchmark import synthetic_batch
    config = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs',
                      'students',
                      'faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py')
    cfg = Config.fromfile(config)
    model = build_in_config_scope(cfg).to(device).train()
    data = synthetic_batch(model, 2, (480, 640), preprocess=False)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4))
    return timing(lambda: model.train_step(data, optim), repeats, 1, device)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    if args.quick:
        args.num_rois, args.channels, args.maps, args.repeats = \
            [64], [64], ['20x15'], 1
    g = torch.Generator().manual_seed(0)
    losses = {mode: RoIMimicLoss(mode=mode, normalize=True)
              for mode in ('pixel', 'roi_align', 'spp')}
    rows, results, spreads = [], [], []
    for size in args.maps:
        width, height = (int(v) for v in size.split('x'))
        for channels in args.channels:
            student = torch.randn(2, channels, height, width, generator=g)
            teacher = torch.randn(2, channels, height, width, generator=g)
            student = student.to(args.device).requires_grad_()
            teacher = teacher.to(args.device)
            for n in args.num_rois:
                rois = make_rois(n, 2, width, height, g).to(args.device)
                fns = {mode: forward_backward(
                    lambda s, t, r, loss=loss: loss([s], [t], r, [STRIDE]),
                    student, teacher, rois) for mode, loss in losses.items()}
                fns['naive'] = forward_backward(naive_loss, student, teacher,
                                                rois)
                timings = interleaved_timings(fns, args.repeats, 1,
                                              args.device)
                times = {mode: t.median for mode, t in timings.items()}
                spreads.append(max(t.spread for t in timings.values()))
                result = dict(map=size, channels=channels, rois=n, **times)
                print(f'{size} C={channels} RoIs={n}: ' + ', '.join(
                    f'{k} {v:.3g} ms' for k, v in times.items()),
                    file=sys.stderr, flush=True)
                results.append(result)
                rows.append([size, channels, n] + [
                    times[m] for m in ('pixel', 'roi_align', 'spp', 'naive')] +
                    [times['naive'] / times['pixel']])
    print(f'device: {args.device}, threads: {torch.get_num_threads()}; '
          'forward + backward, ms: medians of the interleaved rounds (the '
          f'largest interquartile range: {100 * max(spreads):.1f} % of its '
          'median)')
    print(markdown_table(['map (WxH)', 'C', 'RoIs', 'pixel', 'roi_align', 'spp',
                          'naive loop', 'naive / pixel'], rows))
    summary = dict(device=args.device, threads=torch.get_num_threads(),
                   results=results)
    if not args.quick:
        # the paper pair: the teacher's 768 channels (the adapter's output) on
        # the 40x30 map of a 640x480 image, batch 2, 512 regions in all
        student = torch.randn(2, 768, 30, 40, generator=g).to(
            args.device).requires_grad_()
        teacher = torch.randn(2, 768, 30, 40, generator=g).to(args.device)
        rois = make_rois(512, 2, 40, 30, g).to(args.device)
        pixel = timing(forward_backward(
            lambda s, t, r: losses['pixel']([s], [t], r, [STRIDE]), student,
            teacher, rois), max(args.repeats, 10), 3, args.device)
        step = student_step(args.device, 5)
        share = pixel.median / step.median
        print(f'student training step (1/2-Inception Faster R-CNN, 640x480, '
              f'batch 2): {step} ms; pixel mimic loss (512 RoIs, C=768, '
              f'40x30): {pixel.median:.2f} [{pixel.q1:.2f}-{pixel.q3:.2f}] '
              f'ms = {100 * share:.2f} % of it (goal < 2 %); ms: median '
              '[interquartile range]; the loss timed after 3 warm-up calls')
        summary.update(student_step_ms=step.median,
                       student_step_iqr_ms=[step.q1, step.q3],
                       pixel_512_ms=pixel.median,
                       pixel_512_iqr_ms=[pixel.q1, pixel.q3],
                       pixel_share=share)
    write_json(args.json, summary)


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
