from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torch import Tensor

from mmmimic.registry import MODELS

from .ps_roi_pool import PSRoIPool


@MODELS.register_module()
class PSRoIExtractor(SingleRoIExtractor):
    """Position-sensitive RoI pooling of R-FCN score maps, one or several levels.

    Unlike :class:`SingleRoIExtractor` it pools *score maps* (computed by
    :class:`RFCNBBoxHead`), so its output has ``D = C / k**2`` channels (classes
    and box coordinates), which it infers from the maps. Several levels assign
    each RoI to one level by its scale, as :class:`SingleRoIExtractor` does.

    Args:
        roi_layer (dict): ``dict(type='PSRoIPool', output_size=k)``.
        featmap_strides (list[int]): Strides of the pooled maps.
        out_channels (int, optional): ``D``; checked against the maps if given.
        finest_scale (int): Scale threshold of level 0 (several levels only).
        init_cfg (dict, optional): Unused (no parameters).
    """

    def __init__(self,
                 roi_layer: dict = dict(type='PSRoIPool', output_size=7),
                 featmap_strides: List[int] = [16],
                 out_channels: Optional[int] = None,
                 finest_scale: int = 56,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(roi_layer=roi_layer, out_channels=out_channels,
                         featmap_strides=featmap_strides,
                         finest_scale=finest_scale, init_cfg=init_cfg)
        self.output_size = self.roi_layers[0].output_size

    def build_roi_layers(self, layer_cfg: dict,
                         featmap_strides: List[int]) -> nn.ModuleList:
        cfg = dict(layer_cfg)
        layer_type = cfg.pop('type', 'PSRoIPool')
        if layer_type not in ('PSRoIPool', PSRoIPool):
            raise ValueError(
                "PSRoIExtractor: roi_layer.type must be 'PSRoIPool' (position-"
                f'sensitive average pooling), got {layer_type!r}')
        return nn.ModuleList(
            [PSRoIPool(spatial_scale=1 / s, **cfg) for s in featmap_strides])

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pool each RoI on its level.

        Args:
            feats (tuple[Tensor]): Score maps, each (B, D * k * k, H_l, W_l).
            rois (Tensor): (n, 5) ``[batch_index, x1, y1, x2, y2]``.
            roi_scale_factor (float, optional): Scales the RoIs about their
                centres before pooling.

        Returns:
            Tensor: (n, D, k, k).
        """
        k = self.output_size
        feats = feats[:self.num_inputs]
        channels = feats[0].size(1) // (k * k)
        if self.out_channels is not None and channels != self.out_channels:
            raise ValueError(
                f'PSRoIExtractor: score maps have {feats[0].size(1)} channels '
                f'= {channels} x {k}x{k} bins, but out_channels is '
                f'{self.out_channels}')
        rois = rois.type_as(feats[0])
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if len(feats) == 1:
            return self.roi_layers[0](feats[0], rois)
        out = feats[0].new_zeros(rois.size(0), channels, k, k)
        levels = self.map_roi_levels(rois, len(feats))
        for i, feat in enumerate(feats):
            inds = torch.nonzero(levels == i).squeeze(1)
            if inds.numel():
                out[inds] = self.roi_layers[i](feat, rois[inds])
            else:
                # keep every level in the graph (DDP expects all gradients)
                out = out + feat.sum() * 0.
        return out
