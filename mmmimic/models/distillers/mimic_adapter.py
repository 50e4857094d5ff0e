from typing import Optional

from mmmimic.registry import MODELS

from ..necks.deconv_neck import DeconvNeck, IntOrSeq


@MODELS.register_module()
class MimicAdapter(DeconvNeck):
    """The paper's transform r: maps the mimicked student levels onto the
    teacher's, trained with the student and dropped by the export.

    Per level: an optional learned upsampling by ``scale_factor`` (a depthwise
    transposed convolution started as bilinear upsampling: for a student on a
    smaller input or with a coarser map) and a ``conv_kernel_size`` conv from
    the student's channels to the teacher's (the paper: 1x1). It is
    :class:`DeconvNeck` with ``scale_factor=1`` by default (a channel-only
    adapter); the same module inside a student, as its ``neck``, is kept at
    deployment and is written ``DeconvNeck``.

    Args:
        in_channels (int | sequence[int]): The student's channels, per
            mimicked level (``model.mimic_levels`` order).
        out_channels (int | sequence[int], optional): The teacher's.
        scale_factor (int): Upsampling of the student's map, 1 = none.
        **kwargs: the other arguments of :class:`DeconvNeck`.
    """

    def __init__(self, in_channels: IntOrSeq,
                 out_channels: Optional[IntOrSeq] = None,
                 scale_factor: int = 1, **kwargs) -> None:
        super().__init__(in_channels, out_channels, scale_factor=scale_factor,
                         **kwargs)
