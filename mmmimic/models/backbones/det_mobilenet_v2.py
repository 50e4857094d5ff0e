from typing import Sequence

from mmpretrain.models.backbones import MobileNetV2

from mmmimic.registry import MODELS


@MODELS.register_module()
class DetMobileNetV2(MobileNetV2):
    """mmpretrain's ``MobileNetV2`` with only the stages a detector reads.

    mmpretrain builds and runs all seven layers and the final 1x1 ``conv2``
    (1280 channels at stride 32) whatever ``out_indices`` asks for. A detector
    on the stride-16 map (``out_indices=(4, )``: ``layer5``, 96 x width
    channels) pays about a quarter of its backbone's FLOPs for layers whose
    output nobody reads, and DDP would see their parameters unused. This class
    builds the same network and removes every layer after the last of
    ``out_indices``; the names of the rest are mmpretrain's, so an mmpretrain
    (or converted) checkpoint loads unchanged (its later layers are reported as
    unexpected keys and skipped).

    Args:
        out_indices (Sequence[int]): as in mmpretrain (0-6: ``layer1``-
            ``layer7``, 7: ``conv2``). Default: (4, ), the stride-16 map.
        **kwargs: the other arguments of mmpretrain's ``MobileNetV2``.

    Shapes:
        input (N, 3, H, W) -> tuple of (N, C_i, ceil(H/s_i), ceil(W/s_i)).
    """

    def __init__(self, out_indices: Sequence[int] = (4, ), **kwargs) -> None:
        super().__init__(out_indices=out_indices, **kwargs)
        last = max(self.out_indices)
        if self.frozen_stages > last + 1:
            raise ValueError(
                f'frozen_stages={self.frozen_stages} freezes layers that '
                f'out_indices={tuple(out_indices)} does not build; use at '
                f'most {last + 1}')
        for name in self.layers[last + 1:]:
            delattr(self, name)
        self.layers = self.layers[:last + 1]
