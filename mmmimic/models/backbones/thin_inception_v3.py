"""A width-scalable Inception-v3 backbone: the paper's "1/n-Inception" students.

The layer names follow mmpretrain's ``InceptionV3`` (``Conv2d_1a_3x3``,
``Mixed_5b.branch5x5_1``, ...; each conv block holds ``conv`` and ``bn``), so at
``widen_factor=1`` mmpretrain's ImageNet checkpoint loads through
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` with no
conversion (its classifier ``fc`` is simply not used).

Each Inception block is described by a table of branches (see ``_BLOCKS``); a
branch is a sequence of steps, a step is a conv, a pool or a fork of convs that
read the same input and are concatenated. Every channel count of the table is
multiplied by ``widen_factor`` and rounded to a multiple of ``channel_divisor``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmmimic.registry import MODELS

Size = Union[int, Tuple[int, int]]

# A conv step: ('conv', name, out_channels, kernel, stride, padding). A pool step:
# ('avgpool' | 'maxpool', kernel, stride, padding). A fork: ('fork', [conv, ...]).
# out_channels may be a key of the block's arguments ('pool_features', 'c7').
# Paddings are those of the classification network; 'detection' mode pads every
# kernel by half its size instead (identical wherever the table's padding is
# non-zero).
_BLOCKS: Dict[str, List[list]] = {
    'A': [
        [('conv', 'branch1x1', 64, 1, 1, 0)],
        [('conv', 'branch5x5_1', 48, 1, 1, 0),
         ('conv', 'branch5x5_2', 64, 5, 1, 2)],
        [('conv', 'branch3x3dbl_1', 64, 1, 1, 0),
         ('conv', 'branch3x3dbl_2', 96, 3, 1, 1),
         ('conv', 'branch3x3dbl_3', 96, 3, 1, 1)],
        [('avgpool', 3, 1, 1),
         ('conv', 'branch_pool', 'pool_features', 1, 1, 0)],
    ],
    'B': [
        [('conv', 'branch3x3', 384, 3, 2, 0)],
        [('conv', 'branch3x3dbl_1', 64, 1, 1, 0),
         ('conv', 'branch3x3dbl_2', 96, 3, 1, 1),
         ('conv', 'branch3x3dbl_3', 96, 3, 2, 0)],
        [('maxpool', 3, 2, 0)],
    ],
    'C': [
        [('conv', 'branch1x1', 192, 1, 1, 0)],
        [('conv', 'branch7x7_1', 'c7', 1, 1, 0),
         ('conv', 'branch7x7_2', 'c7', (1, 7), 1, (0, 3)),
         ('conv', 'branch7x7_3', 192, (7, 1), 1, (3, 0))],
        [('conv', 'branch7x7dbl_1', 'c7', 1, 1, 0),
         ('conv', 'branch7x7dbl_2', 'c7', (7, 1), 1, (3, 0)),
         ('conv', 'branch7x7dbl_3', 'c7', (1, 7), 1, (0, 3)),
         ('conv', 'branch7x7dbl_4', 'c7', (7, 1), 1, (3, 0)),
         ('conv', 'branch7x7dbl_5', 192, (1, 7), 1, (0, 3))],
        [('avgpool', 3, 1, 1),
         ('conv', 'branch_pool', 192, 1, 1, 0)],
    ],
    'D': [
        [('conv', 'branch3x3_1', 192, 1, 1, 0),
         ('conv', 'branch3x3_2', 320, 3, 2, 0)],
        [('conv', 'branch7x7x3_1', 192, 1, 1, 0),
         ('conv', 'branch7x7x3_2', 192, (1, 7), 1, (0, 3)),
         ('conv', 'branch7x7x3_3', 192, (7, 1), 1, (3, 0)),
         ('conv', 'branch7x7x3_4', 192, 3, 2, 0)],
        [('maxpool', 3, 2, 0)],
    ],
    'E': [
        [('conv', 'branch1x1', 320, 1, 1, 0)],
        [('conv', 'branch3x3_1', 384, 1, 1, 0),
         ('fork', [('conv', 'branch3x3_2a', 384, (1, 3), 1, (0, 1)),
                   ('conv', 'branch3x3_2b', 384, (3, 1), 1, (1, 0))])],
        [('conv', 'branch3x3dbl_1', 448, 1, 1, 0),
         ('conv', 'branch3x3dbl_2', 384, 3, 1, 1),
         ('fork', [('conv', 'branch3x3dbl_3a', 384, (1, 3), 1, (0, 1)),
                   ('conv', 'branch3x3dbl_3b', 384, (3, 1), 1, (1, 0))])],
        [('avgpool', 3, 1, 1),
         ('conv', 'branch_pool', 192, 1, 1, 0)],
    ],
}

# (name, kind, arguments) of the stem and of the three stages; the stem ends at
# stride 8, the stages end at strides 8, 16 and 32.
_STEM = [
    ('Conv2d_1a_3x3', ('conv', None, 32, 3, 2, 0)),
    ('Conv2d_2a_3x3', ('conv', None, 32, 3, 1, 0)),
    ('Conv2d_2b_3x3', ('conv', None, 64, 3, 1, 1)),
    ('maxpool1', ('maxpool', 3, 2, 0)),
    ('Conv2d_3b_1x1', ('conv', None, 80, 1, 1, 0)),
    ('Conv2d_4a_3x3', ('conv', None, 192, 3, 1, 0)),
    ('maxpool2', ('maxpool', 3, 2, 0)),
]
_STAGES = [
    [('Mixed_5b', 'A', dict(pool_features=32)),
     ('Mixed_5c', 'A', dict(pool_features=64)),
     ('Mixed_5d', 'A', dict(pool_features=64))],
    [('Mixed_6a', 'B', {}),
     ('Mixed_6b', 'C', dict(c7=128)),
     ('Mixed_6c', 'C', dict(c7=160)),
     ('Mixed_6d', 'C', dict(c7=160)),
     ('Mixed_6e', 'C', dict(c7=192))],
    [('Mixed_7a', 'D', {}),
     ('Mixed_7b', 'E', {}),
     ('Mixed_7c', 'E', {})],
]
PAD_MODES = ('detection', 'classification')


def _same_padding(kernel: Size) -> Tuple[int, int]:
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return kh // 2, kw // 2


class BasicConv2d(nn.Module):
    """conv (no bias) -> norm -> ReLU, with mmpretrain's names ``conv``, ``bn``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size,
                 stride: int, padding: Size, conv_cfg: Optional[dict],
                 norm_cfg: dict) -> None:
        super().__init__()
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size=kernel_size,
            stride=stride, padding=padding, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class InceptionBlock(nn.Module):
    """One Inception block built from a ``_BLOCKS`` table.

    Convs are attributes named as in mmpretrain; the output concatenates the
    branches in table order (pool branches without a conv keep their input's
    channels).
    """

    def __init__(self, kind: str, in_channels: int, channels, pad_mode: str,
                 conv_cfg: Optional[dict], norm_cfg: dict,
                 **block_args) -> None:
        super().__init__()
        self.branches: List[List[tuple]] = []
        out_channels = 0
        for b, branch in enumerate(_BLOCKS[kind]):
            steps, c = [], in_channels
            for s, step in enumerate(branch):
                if step[0] == 'fork':
                    names = [self._add_conv(conv, c, channels, pad_mode,
                                            conv_cfg, norm_cfg, block_args)
                             for conv in step[1]]
                    steps.append(('fork', names))
                    c = sum(getattr(self, n).out_channels for n in names)
                elif step[0] == 'conv':
                    name = self._add_conv(step, c, channels, pad_mode,
                                          conv_cfg, norm_cfg, block_args)
                    steps.append(('conv', name))
                    c = getattr(self, name).out_channels
                else:
                    name = f'{step[0]}_{b}_{s}'
                    self.add_module(name, _pool(step, pad_mode))
                    steps.append(('pool', name))
            self.branches.append(steps)
            out_channels += c
        self.out_channels = out_channels

    def _add_conv(self, step: tuple, in_channels: int, channels, pad_mode: str,
                  conv_cfg, norm_cfg, block_args) -> str:
        _, name, out, kernel, stride, padding = step
        out = channels(block_args[out] if isinstance(out, str) else out)
        if pad_mode == 'detection':
            padding = _same_padding(kernel)
        self.add_module(name, BasicConv2d(in_channels, out, kernel, stride,
                                          padding, conv_cfg, norm_cfg))
        return name

    def forward(self, x: Tensor) -> Tensor:
        outs = []
        for steps in self.branches:
            y = x
            for kind, name in steps:
                if kind == 'fork':
                    y = torch.cat([getattr(self, n)(y) for n in name], 1)
                else:
                    y = getattr(self, name)(y)
            outs.append(y)
        return torch.cat(outs, 1)


def _pool(step: tuple, pad_mode: str) -> nn.Module:
    kind, kernel, stride, padding = step
    if pad_mode == 'detection':
        padding = kernel // 2
    if kind == 'maxpool':
        return nn.MaxPool2d(kernel, stride, padding)
    return nn.AvgPool2d(kernel, stride, padding)


@MODELS.register_module()
class ThinInceptionV3(BaseModule):
    """Inception-v3 with every convolution's width scaled by ``widen_factor``.

    The paper's 1/n-Inception student is ``widen_factor=1/n`` with the teacher's
    depth, trained from scratch. Stages (``out_indices``): 0 = ``Mixed_5b-5d``
    (stride 8), 1 = ``Mixed_6a-6e`` (stride 16), 2 = ``Mixed_7a-7c`` (stride 32);
    stages after the last output are not built.

    Padding modes:

    - ``'detection'`` (default): every conv and pool is padded by half its
      kernel, so the stride-``s`` output of an ``H x W`` input has exactly
      ``ceil(H / s) x ceil(W / s)`` cells and cell ``(i, j)`` is centred on image
      pixel ``(s * i, s * j)`` -- at every width, and as in MMDetection's ResNet,
      so a teacher's and a student's maps align cell for cell.
    - ``'classification'``: mmpretrain's unpadded stem and reductions, for an
      output identical to mmpretrain's ``InceptionV3`` (299 -> 35, 17, 8).

    Args:
        widen_factor (float): Width multiplier (> 0); 1 is Inception-v3.
        out_indices (sequence[int]): Stages to output, from (0, 1, 2).
        frozen_stages (int): -1 freezes nothing, 0 the stem, ``i`` the stem and
            stages ``0 .. i-1`` (MMDetection's ResNet convention).
        pad_mode (str): ``'detection'`` or ``'classification'``.
        channel_divisor (int): Scaled widths are rounded to a multiple of this,
            and are at least this.
        conv_cfg (dict, optional): Conv layer config (None = ``nn.Conv2d``).
        norm_cfg (dict): Norm layer config; mmpretrain's is BN with eps 1e-3.
        norm_eval (bool): Keep norm layers in eval mode while training.
        init_cfg (dict | list[dict], optional): Initialisation; by default
            Kaiming for convs and 1 for norms (training from scratch).
    """

    arch_channels = (288, 768, 2048)
    strides = (8, 16, 32)

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (0, 1, 2),
                 frozen_stages: int = -1,
                 pad_mode: str = 'detection',
                 channel_divisor: int = 8,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', eps=1e-3, requires_grad=True),
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', layer='Conv2d'),
                     dict(type='Constant', val=1,
                          layer=['_BatchNorm', 'GroupNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        if not widen_factor > 0:
            raise ValueError(
                f'ThinInceptionV3: widen_factor must be > 0, got {widen_factor}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError(
                'ThinInceptionV3: out_indices must be a non-empty subset of '
                f'(0, 1, 2) (strides 8, 16, 32), got {out_indices}')
        if not -1 <= frozen_stages <= 3:
            raise ValueError(
                f'ThinInceptionV3: frozen_stages must be in [-1, 3], got '
                f'{frozen_stages}')
        if pad_mode not in PAD_MODES:
            raise ValueError(f'ThinInceptionV3: pad_mode must be one of '
                             f'{PAD_MODES}, got {pad_mode!r}')
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.pad_mode = pad_mode
        self.channel_divisor = channel_divisor
        self.norm_eval = norm_eval

        c = 3
        self.stem_names = []
        for name, step in _STEM:
            if step[0] == 'conv':
                _, _, out, kernel, stride, padding = step
                if pad_mode == 'detection':
                    padding = _same_padding(kernel)
                layer = BasicConv2d(c, self.channels(out), kernel, stride,
                                    padding, conv_cfg, norm_cfg)
                c = layer.out_channels
            else:
                layer = _pool(step, pad_mode)
            self.add_module(name, layer)
            self.stem_names.append(name)

        self.stage_names: List[List[str]] = []
        self.out_channels: List[int] = []
        for stage in _STAGES[:max(out_indices) + 1]:
            names = []
            for name, kind, args in stage:
                block = InceptionBlock(kind, c, self.channels, pad_mode,
                                       conv_cfg, norm_cfg, **args)
                c = block.out_channels
                self.add_module(name, block)
                names.append(name)
            self.stage_names.append(names)
            self.out_channels.append(c)
        self._freeze_stages()

    def channels(self, base: int) -> int:
        """``base`` scaled by ``widen_factor``, rounded to ``channel_divisor``."""
        d = self.channel_divisor
        return max(d, int(base * self.widen_factor / d + 0.5) * d)

    def _freeze_stages(self) -> None:
        groups = [self.stem_names] + self.stage_names
        for names in groups[:self.frozen_stages + 1]:
            for name in names:
                module = getattr(self, name)
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> one (N, C_i, H_i, W_i) map per ``out_indices``."""
        for name in self.stem_names:
            x = getattr(self, name)(x)
        outs = []
        for i, names in enumerate(self.stage_names):
            for name in names:
                x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ThinInceptionV3':
        """Keep frozen stages, and norms when ``norm_eval``, in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
