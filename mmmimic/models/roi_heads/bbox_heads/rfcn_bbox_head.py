from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from torch import Tensor

from mmmimic.registry import MODELS


@MODELS.register_module()
class RFCNBBoxHead(BBoxHead):
    """R-FCN's position-sensitive score maps and voting (Dai et al., 2016).

    On the shared map (stride 16 in the paper): a 1x1 conv with ReLU reduces it
    to ``reduce_channels``, then two 1x1 convs give ``k*k*(num_classes + 1)``
    classification maps and ``k*k*4`` class-agnostic regression maps
    (``k*k*4*num_classes`` when ``reg_class_agnostic=False``).
    :class:`PSRoIExtractor` pools them per RoI; :meth:`forward` votes by
    averaging the ``k x k`` bins. Targets, losses, decoding and NMS are
    :class:`BBoxHead`'s, so mmdet's assigners, samplers (``OHEMSampler``
    included), coders and losses work unchanged.

    Args:
        in_channels (int): Channels of the shared map.
        reduce_channels (int): Width of the reducing 1x1 conv; 0 skips it.
        group_size (int): ``k``; must equal the extractor's ``output_size``.
        num_classes (int): Foreground classes.
        reg_class_agnostic (bool): One box per RoI (R-FCN) or one per class.
        **kwargs: :class:`BBoxHead`'s ``bbox_coder``, ``loss_cls``,
            ``loss_bbox``, ``reg_decoded_bbox``, ``predict_box_type``.
    """

    def __init__(self,
                 in_channels: int = 1024,
                 reduce_channels: int = 1024,
                 group_size: int = 7,
                 num_classes: int = 80,
                 reg_class_agnostic: bool = True,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        for key in ('with_avg_pool', 'with_cls', 'with_reg', 'roi_feat_size',
                    'reg_predictor_cfg', 'cls_predictor_cfg'):
            if key in kwargs:
                raise TypeError(
                    f'RFCNBBoxHead: {key!r} does not apply (the predictors are '
                    f'1x1 convs on score maps; the bin grid is group_size)')
        # with_avg_pool=True keeps BBoxHead from sizing its (discarded) fc
        # predictors for flattened k*k features
        super().__init__(
            with_avg_pool=True, roi_feat_size=group_size,
            in_channels=in_channels, num_classes=num_classes,
            reg_class_agnostic=reg_class_agnostic, init_cfg=init_cfg, **kwargs)
        del self.avg_pool, self.fc_cls, self.fc_reg
        self.with_avg_pool = False
        self.group_size = group_size
        self.reduce_channels = reduce_channels
        if self.custom_cls_channels:
            self.cls_channels = self.loss_cls.get_cls_channels(num_classes)
        else:
            self.cls_channels = num_classes + 1
        box_dim = self.bbox_coder.encode_size
        self.reg_channels = box_dim if reg_class_agnostic else \
            box_dim * num_classes
        bins = group_size * group_size
        channels = in_channels
        if reduce_channels:
            self.conv_reduce = nn.Conv2d(in_channels, reduce_channels, 1)
            channels = reduce_channels
        self.conv_cls = nn.Conv2d(channels, bins * self.cls_channels, 1)
        self.conv_reg = nn.Conv2d(channels, bins * self.reg_channels, 1)
        if init_cfg is None:
            self.init_cfg = [
                dict(type='Normal', std=0.01,
                     override=dict(name='conv_cls')),
                dict(type='Normal', std=0.001,
                     override=dict(name='conv_reg')),
            ]
            if reduce_channels:
                self.init_cfg.append(
                    dict(type='Normal', std=0.01,
                         override=dict(name='conv_reduce')))

    @property
    def out_channels(self) -> int:
        """``D``: pooled channels per RoI (classes, then box coordinates)."""
        return self.cls_channels + self.reg_channels

    def score_maps(self, x: Tuple[Tensor]) -> Tuple[Tensor]:
        """Shared maps -> score maps.

        Args:
            x (tuple[Tensor]): Each (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: Each (B, k*k*D, H, W): the classification maps'
            ``k*k*cls_channels`` channels, then the regression maps'.
        """
        maps = []
        for feat in x:
            if self.reduce_channels:
                feat = F.relu(self.conv_reduce(feat))
            maps.append(
                torch.cat([self.conv_cls(feat), self.conv_reg(feat)], 1))
        return tuple(maps)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Vote: average the ``k x k`` position-sensitive bins.

        Args:
            x (Tensor): (n, D, k, k) pooled score maps.

        Returns:
            tuple[Tensor, Tensor]: ``cls_score`` (n, cls_channels) and
            ``bbox_pred`` (n, reg_channels).
        """
        votes = x.mean(dim=(2, 3))
        return votes[:, :self.cls_channels], votes[:, self.cls_channels:]
