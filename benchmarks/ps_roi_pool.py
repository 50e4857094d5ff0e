"""PS RoI pooling: correctness against a per-bin reference and CPU/CUDA speed.

    python benchmarks/ps_roi_pool.py [--json PATH]

Loads mmmimic's ps_roi_pool.py by path, so it runs with torch alone (e.g. on a
GPU machine without mmcv). Prints the maximum differences (float64 reference;
CUDA against CPU where CUDA exists) and forward+backward times at the size of
an R-FCN on VOC (2 images, 49 x 25 score maps of 38 x 63, 600 RoIs, k = 7):
medians with their interquartile ranges.
"""
import argparse
import importlib.util
import os.path as osp

import torch

from mmmimic.utils.benchmark import (
    add_json_arguments,
    check_json_destination,
    timing,
    write_json,
)

HERE = osp.dirname(osp.abspath(__file__))
spec = importlib.util.spec_from_file_location('ps_roi_pool', osp.join(
    HERE, '..', 'mmmimic', 'models', 'roi_heads', 'roi_extractors',
    'ps_roi_pool.py'))
ps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ps)


def random_rois(n, height, width, g, batch=2):
    xy = torch.rand(n, 2, generator=g) * torch.tensor([width, height]) * 1.2 - 8
    wh = torch.rand(n, 2, generator=g) * torch.tensor([width, height]) * 0.7
    return torch.cat([torch.randint(0, batch, (n, 1), generator=g).float(),
                      xy, xy + wh], 1)


def forward_backward(x, rois, weights):
    out = ps.ps_roi_pool(x, rois, 7, 1 / 16)
    return torch.autograd.grad((out * weights).sum(), x)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_json_arguments(parser)
    args = parser.parse_args()
    check_json_destination(parser, args)
    cuda = torch.cuda.is_available()
    devices = ['cpu', 'cuda'] if cuda else ['cpu']
    g = torch.Generator().manual_seed(0)
    res = dict(torch=torch.__version__, cpu_threads=torch.get_num_threads(),
               gpu=torch.cuda.get_device_name(0) if cuda else None)
    # correctness: float64 against the reference, on every device
    x = torch.randn(2, 5 * 49, 6, 10, dtype=torch.float64, generator=g)
    rois = random_rois(12, 96, 160, g).double()
    weights = torch.randn(len(rois), 5, 7, 7, dtype=torch.float64,
                          generator=g)
    ref_x = x.clone().requires_grad_()
    ref = ps.ps_roi_pool_reference(ref_x, rois, 7, 1 / 16)
    ref_grad, = torch.autograd.grad((ref * weights).sum(), ref_x)
    for dev in devices:
        xd = x.to(dev).requires_grad_()
        out = ps.ps_roi_pool(xd, rois.to(dev), 7, 1 / 16)
        grad, = torch.autograd.grad((out * weights.to(dev)).sum(), xd)
        res[f'{dev}_f64_vs_reference_value'] = (out.cpu() - ref).abs().max().item()
        res[f'{dev}_f64_vs_reference_grad'] = (grad.cpu() - ref_grad).abs().max().item()
    # VOC R-FCN size, float32
    x = torch.randn(2, 25 * 49, 38, 63, generator=g, requires_grad=True)
    rois = random_rois(600, 600, 1000, g)
    weights = torch.randn(600, 25, 7, 7, generator=g)
    cpu = timing(lambda: forward_backward(x, rois, weights), 5, 1, 'cpu')
    res['cpu_fwd_bwd_ms'] = cpu.median
    res['cpu_fwd_bwd_iqr_ms'] = [cpu.q1, cpu.q3]
    if cuda:
        xc = x.detach().cuda().requires_grad_()
        rc, wc = rois.cuda(), weights.cuda()
        out_cpu = ps.ps_roi_pool(x, rois, 7, 1 / 16)
        out_gpu = ps.ps_roi_pool(xc, rc, 7, 1 / 16)
        res['cuda_vs_cpu_f32_value'] = (out_gpu.cpu() - out_cpu).abs().max().item()
        res['cuda_vs_cpu_f32_grad'] = (forward_backward(xc, rc, wc).cpu() -
                                       forward_backward(x, rois, weights)
                                       ).abs().max().item()
        gpu = timing(lambda: forward_backward(xc, rc, wc), 21, 5, 'cuda')
        res['cuda_fwd_bwd_ms'] = gpu.median
        res['cuda_fwd_bwd_iqr_ms'] = [gpu.q1, gpu.q3]
    width = max(len(k) for k in res)
    for key, value in res.items():
        if isinstance(value, list):
            value = '[' + '-'.join(f'{v:.3g}' for v in value) + ']'
        print(f'{key:<{width}}  {value:.3g}' if isinstance(value, float)
              else f'{key:<{width}}  {value}')
    write_json(args.json, res)


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
