"""Position-sensitive RoI pooling (R-FCN, Dai et al. 2016) in plain torch ops.

mmcv 2.1 has no PS RoI pooling and torchvision's compiled ops are not a
dependency, so the op is written with a summed-area table: one cumulative sum
per map, then four gathers per (RoI, bin, channel). It runs wherever torch runs
(CPU, CUDA), autograd gives its gradient, and no loop over RoIs is needed.

Geometry: a RoI ``(x1, y1, x2, y2)`` in image coordinates is scaled to
``(x1, y1, x2, y2) * spatial_scale`` on the map, where cell ``c`` spans
``[c, c + 1)``. The RoI is split into ``k x k`` equal bins; bin ``(i, j)``
averages the cells ``floor(start) .. ceil(end) - 1`` it overlaps (clipped to the
map) of channel group ``(i, j)``; a bin with no cell inside the map gives 0.
"""
import math
from typing import Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor


def _bin_edges(start: Tensor, end: Tensor, k: int,
               size: int) -> Tuple[Tensor, Tensor]:
    """First and one-past-last cell of each of ``k`` bins, (n, k) int64 each."""
    steps = torch.arange(k + 1, device=start.device, dtype=start.dtype) / k
    edges = start[:, None] + (end - start)[:, None] * steps
    first = edges[:, :-1].floor().clamp(0, size).long()
    last = edges[:, 1:].ceil().clamp(0, size).long()
    return first, torch.maximum(first, last)


def ps_roi_pool(input: Tensor, rois: Tensor, output_size: int,
                spatial_scale: float) -> Tensor:
    """Position-sensitive average RoI pooling.

    Args:
        input (Tensor): (B, D * k * k, H, W) score maps; channel
            ``d * k * k + i * k + j`` holds class/coordinate ``d`` for bin
            ``(i, j)`` (row ``i``, column ``j``), the layout of R-FCN.
        rois (Tensor): (n, 5) ``[batch_index, x1, y1, x2, y2]`` in image
            coordinates.
        output_size (int): ``k``.
        spatial_scale (float): Map size / image size (1 / stride).

    Returns:
        Tensor: (n, D, k, k) in ``input``'s dtype.
    """
    k = int(output_size)
    b, c, h, w = input.shape
    if c % (k * k):
        raise ValueError(
            f'ps_roi_pool: input has {c} channels, not a multiple of '
            f'output_size**2 = {k * k}')
    d = c // (k * k)
    n = rois.size(0)
    if n == 0:
        return input.new_zeros(0, d, k, k)
    # the table in float64: sums of up to H*W values are differenced, float32
    # would lose the small bins of large maps
    table = input.double().cumsum(2).cumsum(3)
    table = nn.functional.pad(table, (1, 0, 1, 0)).reshape(-1)

    boxes = rois[:, 1:].double() * spatial_scale
    xs, xe = _bin_edges(boxes[:, 0], boxes[:, 2], k, w)  # (n, k)
    ys, ye = _bin_edges(boxes[:, 1], boxes[:, 3], k, h)

    # channel of (roi, d, i, j); flat index of the table's (b, c, y, x)
    dev = input.device
    channel = (torch.arange(d, device=dev)[:, None, None] * k * k +
               torch.arange(k, device=dev)[None, :, None] * k +
               torch.arange(k, device=dev)[None, None, :])  # (d, k, k)
    base = (rois[:, 0].long()[:, None, None, None] * c + channel) * \
        ((h + 1) * (w + 1))  # (n, d, k, k)
    y0 = ys[:, None, :, None] * (w + 1)
    y1 = ye[:, None, :, None] * (w + 1)
    x0 = xs[:, None, None, :]
    x1 = xe[:, None, None, :]
    total = (table[base + y1 + x1] - table[base + y0 + x1] -
             table[base + y1 + x0] + table[base + y0 + x0])
    area = ((ye - ys)[:, :, None] * (xe - xs)[:, None, :])[:, None]
    out = torch.where(area > 0, total / area.clamp(min=1), total.new_zeros(()))
    return out.to(input.dtype)


def ps_roi_pool_reference(input: Tensor, rois: Tensor, output_size: int,
                          spatial_scale: float) -> Tensor:
    """:func:`ps_roi_pool` one bin at a time, from the definition (slow).

    Written independently of the summed-area table, in Python floats; tests
    and ``benchmarks/ps_roi_pool.py`` check the fast op against it (values and,
    through autograd, gradients).
    """
    k = int(output_size)
    d = input.size(1) // (k * k)
    height, width = input.shape[-2:]
    out = input.new_zeros(rois.size(0), d, k, k)
    for r in range(rois.size(0)):
        b = int(rois[r, 0])
        x1, y1, x2, y2 = (float(v) * spatial_scale for v in rois[r, 1:])
        for i in range(k):
            h0 = min(max(math.floor(y1 + (y2 - y1) * i / k), 0), height)
            h1 = min(max(math.ceil(y1 + (y2 - y1) * (i + 1) / k), 0), height)
            for j in range(k):
                w0 = min(max(math.floor(x1 + (x2 - x1) * j / k), 0), width)
                w1 = min(max(math.ceil(x1 + (x2 - x1) * (j + 1) / k), 0),
                         width)
                if h1 <= h0 or w1 <= w0:
                    continue
                for c in range(d):
                    out[r, c, i, j] = input[b, c * k * k + i * k + j, h0:h1,
                                            w0:w1].mean()
    return out


class PSRoIPool(nn.Module):
    """Module form of :func:`ps_roi_pool`, built by :class:`PSRoIExtractor`.

    Args:
        output_size (int | tuple[int, int]): ``k`` (square bins only).
        spatial_scale (float): 1 / stride of the map it pools.
    """

    def __init__(self, output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)):
            if output_size[0] != output_size[1]:
                raise ValueError(
                    f'PSRoIPool: output_size must be square, got {output_size}')
            output_size = output_size[0]
        self.output_size = int(output_size)
        self.spatial_scale = float(spatial_scale)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """(B, D*k*k, H, W), (n, 5) -> (n, D, k, k)."""
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}')
