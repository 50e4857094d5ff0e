from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmmimic.registry import MODELS

IntOrSeq = Union[int, Sequence[int]]


def bilinear_kernel(channels: int, factor: int, kernel_size: int) -> Tensor:
    """Depthwise transposed-conv weights that upsample bilinearly by ``factor``.

    Returns:
        Tensor: (channels, 1, kernel_size, kernel_size).
    """
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / \
        factor
    kernel = taps[:, None] * taps[None, :]
    return kernel.expand(channels, 1, kernel_size, kernel_size).clone()


@MODELS.register_module()
class DeconvNeck(BaseModule):
    """Learned upsampling and channel adaptation of one or several levels.

    Per level: a depthwise transposed convolution that upsamples by
    ``scale_factor`` (initialised to bilinear upsampling, so training starts
    from plain resizing), then an optional conv (``out_channels``) with optional
    norm and activation. With ``scale_factor=1`` it is a plain conv adapter for a
    channel-only mismatch.

    Two uses in mimic configs:

    - inside the student (``neck``): the student runs on a half-size input and
      upsamples its map, which the deployed student keeps;
    - as the training-only transform ``r`` (``mimic_adapter`` of
      :class:`FeatureMimicDistiller`), dropped by the student export.

    Args:
        in_channels (int | sequence[int]): Channels of each input level.
        out_channels (int | sequence[int], optional): Channels of the
            adaptation conv. None keeps ``in_channels`` and adds a conv only
            when ``norm_cfg`` or ``act_cfg`` is given.
        scale_factor (int): Upsampling factor (1 = none).
        kernel_size (int): Kernel of the transposed conv; ``2 * scale_factor``
            gives an output of exactly ``scale_factor`` times the input.
        conv_kernel_size (int): Kernel of the adaptation conv (1 or 3).
        norm_cfg (dict, optional): Norm after the adaptation conv.
        act_cfg (dict, optional): Activation after the adaptation conv.
        learnable_upsample (bool): False freezes the bilinear kernel.
        init_cfg (dict, optional): Init of the adaptation convs.
    """

    def __init__(self,
                 in_channels: IntOrSeq,
                 out_channels: Optional[IntOrSeq] = None,
                 scale_factor: int = 2,
                 kernel_size: Optional[int] = None,
                 conv_kernel_size: int = 1,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 learnable_upsample: bool = True,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d', a=1, mode='fan_in',
                     nonlinearity='linear')) -> None:
        super().__init__(init_cfg=init_cfg)
        in_list = [in_channels] if isinstance(in_channels, int) \
            else list(in_channels)
        if out_channels is None:
            out_list: List[Optional[int]] = [None] * len(in_list)
        elif isinstance(out_channels, int):
            out_list = [out_channels] * len(in_list)
        else:
            out_list = list(out_channels)
        if len(out_list) != len(in_list):
            raise ValueError(
                f'DeconvNeck: {len(in_list)} in_channels but {len(out_list)} '
                'out_channels; give one per level')
        if scale_factor < 1 or int(scale_factor) != scale_factor:
            raise ValueError(
                f'DeconvNeck scale_factor={scale_factor}: a positive integer')
        if conv_kernel_size % 2 != 1:
            raise ValueError(
                f'DeconvNeck conv_kernel_size={conv_kernel_size}: odd (1 or 3)')
        self.in_channels = in_list
        self.out_channels = [o if o is not None else i
                             for i, o in zip(in_list, out_list)]
        self.scale_factor = int(scale_factor)
        self.kernel_size = kernel_size or 2 * self.scale_factor
        self.upsamples = nn.ModuleList()
        self.convs = nn.ModuleList()
        for channels, out in zip(in_list, out_list):
            if self.scale_factor > 1:
                up = nn.ConvTranspose2d(
                    channels, channels, self.kernel_size,
                    stride=self.scale_factor,
                    padding=(self.kernel_size - self.scale_factor) // 2,
                    groups=channels, bias=False)
                up.weight.requires_grad_(learnable_upsample)
                self.upsamples.append(up)
            else:
                self.upsamples.append(nn.Identity())
            needs_conv = out is not None or norm_cfg is not None \
                or act_cfg is not None
            self.convs.append(
                ConvModule(channels, out if out is not None else channels,
                           conv_kernel_size, padding=conv_kernel_size // 2,
                           norm_cfg=norm_cfg, act_cfg=act_cfg)
                if needs_conv else nn.Identity())
        self._set_bilinear()

    def _set_bilinear(self) -> None:
        for up in self.upsamples:
            if isinstance(up, nn.ConvTranspose2d):
                with torch.no_grad():
                    up.weight.copy_(
                        bilinear_kernel(up.in_channels, self.scale_factor,
                                        self.kernel_size))

    def init_weights(self) -> None:
        super().init_weights()
        # BaseModule's init_cfg may touch every conv: keep upsampling bilinear
        self._set_bilinear()

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor]:
        """(B, C_l, H_l, W_l) per level -> (B, C'_l, s*H_l, s*W_l) per level."""
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if len(inputs) != len(self.upsamples):
            raise ValueError(
                f'DeconvNeck built for {len(self.upsamples)} level(s) got '
                f'{len(inputs)}; set in_channels to one entry per level')
        return tuple(
            conv(up(x))
            for x, up, conv in zip(inputs, self.upsamples, self.convs))
