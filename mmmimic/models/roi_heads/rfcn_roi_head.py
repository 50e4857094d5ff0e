from typing import List, Optional, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from mmmimic.registry import MODELS


@MODELS.register_module()
class RFCNRoIHead(StandardRoIHead):
    """R-FCN's RoI head: score maps once per image, PS RoI pooling per RoI.

    ``bbox_head`` is an :class:`RFCNBBoxHead` (score maps and voting) and
    ``bbox_roi_extractor`` a :class:`PSRoIExtractor` whose ``output_size``
    equals the head's ``group_size``. Training (targets, sampling including
    ``OHEMSampler``, losses) and prediction are :class:`StandardRoIHead`'s:
    only the per-RoI forward differs, so it also serves
    :class:`FeatureMimicDistiller`'s two-stage mimic (``cls_score`` are the
    voted scores).

    Example::

        roi_head=dict(
            type='mmmimic.RFCNRoIHead',
            bbox_roi_extractor=dict(
                type='mmmimic.PSRoIExtractor',
                roi_layer=dict(type='PSRoIPool', output_size=7),
                featmap_strides=[16]),
            bbox_head=dict(type='mmmimic.RFCNBBoxHead', in_channels=768,
                           reduce_channels=1024, group_size=7, num_classes=1))
    """

    def __init__(self,
                 bbox_roi_extractor: dict,
                 bbox_head: dict,
                 mask_roi_extractor: Optional[dict] = None,
                 mask_head: Optional[dict] = None,
                 shared_head: Optional[dict] = None,
                 **kwargs) -> None:
        if mask_head is not None or mask_roi_extractor is not None:
            raise ValueError('RFCNRoIHead: masks are not supported; remove '
                             'roi_head.mask_head / mask_roi_extractor')
        if shared_head is not None:
            raise ValueError(
                'RFCNRoIHead: shared_head is not supported (the score maps '
                'are computed on the shared map itself); put the layers in '
                'the backbone or neck instead')
        super().__init__(bbox_roi_extractor=bbox_roi_extractor,
                         bbox_head=bbox_head, **kwargs)

    def init_bbox_head(self, bbox_roi_extractor: dict,
                       bbox_head: dict) -> None:
        """Build both and check that they agree on the bin grid."""
        super().init_bbox_head(bbox_roi_extractor, bbox_head)
        if not hasattr(self.bbox_head, 'score_maps'):
            raise TypeError(
                'RFCNRoIHead: roi_head.bbox_head must compute score maps '
                f'(e.g. RFCNBBoxHead); got {type(self.bbox_head).__name__}')
        k_pool = getattr(self.bbox_roi_extractor, 'output_size', None)
        if k_pool != self.bbox_head.group_size:
            raise ValueError(
                'RFCNRoIHead: roi_head.bbox_roi_extractor.roi_layer.output_size '
                f'({k_pool}) must equal roi_head.bbox_head.group_size '
                f'({self.bbox_head.group_size}); use a PSRoIExtractor with '
                'the same k')

    def init_assigner_sampler(self) -> None:
        """mmdet's; a sampler with a ``context`` (OHEM's, which forwards the
        RoIs it mines) gets a :class:`ScoreMapContext`, so that it pools the
        score maps :meth:`loss` computed once."""
        super().init_assigner_sampler()
        if hasattr(self.bbox_sampler, 'context'):
            self.bbox_sampler.context = ScoreMapContext(self)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """:meth:`StandardRoIHead.loss` on the score maps, computed once for
        the batch: OHEM's hard mining (per image) and the loss pool the same
        maps (:meth:`pool_score_maps`) instead of recomputing them."""
        maps = self.bbox_head.score_maps(
            x[:self.bbox_roi_extractor.num_inputs])
        return super().loss(maps, rpn_results_list, batch_data_samples)

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """:meth:`StandardRoIHead.bbox_loss` where ``x`` are the score maps
        (what :meth:`loss` passes)."""
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self.pool_score_maps(x, rois)
        bbox_loss_and_target = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'],
            bbox_pred=bbox_results['bbox_pred'],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg)
        bbox_results.update(loss_bbox=bbox_loss_and_target['loss_bbox'])
        return bbox_results

    def pool_score_maps(self, maps: Tuple[Tensor], rois: Tensor) -> dict:
        """PS RoI pooling of score maps at ``rois`` and voting.

        Args:
            maps (tuple[Tensor]): Score maps, each (B, k^2 (C + 1 + 4), H, W).
            rois (Tensor): (n, 5) ``[batch_index, x1, y1, x2, y2]``.

        Returns:
            dict: ``cls_score`` (n, num_classes + 1), ``bbox_pred`` (n, 4 or
            4 * num_classes), ``bbox_feats`` (n, D, k, k) pooled scores.
        """
        bbox_feats = self.bbox_roi_extractor(maps, rois)
        cls_score, bbox_pred = self.bbox_head(bbox_feats)
        return dict(
            cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """mmdet's per-RoI forward (prediction, two-stage mimic): score maps
        of the shared maps ``x`` (each (B, C, H, W)), then
        :meth:`pool_score_maps`."""
        return self.pool_score_maps(
            self.bbox_head.score_maps(x[:self.bbox_roi_extractor.num_inputs]),
            rois)


class ScoreMapContext:
    """The ``context`` OHEM's sampler gets from :class:`RFCNRoIHead`: its
    ``bbox_head``, and a ``_bbox_forward`` (the name mmdet's sampler calls)
    that pools the score maps the head's ``loss`` passes to the sampler."""

    def __init__(self, head: RFCNRoIHead) -> None:
        self.head = head

    @property
    def bbox_head(self):
        return self.head.bbox_head

    def _bbox_forward(self, maps: Tuple[Tensor], rois: Tensor) -> dict:
        return self.head.pool_score_maps(maps, rois)
