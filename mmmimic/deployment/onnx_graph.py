"""A two-stage MMDetection detector as one traceable graph, for ONNX export.

:class:`OnnxTwoStageGraph` runs a trained Faster R-CNN-style detector from a
normalised image to its final detections with nothing left to Python: the
backbone and neck, the RPN head, its proposal selection (top-k per level, box
decoding, NMS across levels), the RoI feature extraction (RoIAlign, with the
FPN rule that maps each RoI to a level), the RoI head and the per-class NMS.
Each step mirrors what the detector's own ``predict`` does with its
``test_cfg``; every NMS and RoIAlign is the standard ONNX operator
(``NonMaxSuppression``, ``RoiAlign``) through torchvision's ops, so the file
needs no custom operator.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class UnsupportedForOnnx(ValueError):
    """A part of the detector that has no ONNX form here; names the part."""


def _type_name(module) -> str:
    return type(module).__name__


def check_supported(detector: nn.Module) -> None:
    """Refuse, naming the part, a detector this graph cannot reproduce.

    Supported: mmdet's ``RPNHead`` with an ``AnchorGenerator`` and
    ``DeltaXYWHBBoxCoder``; ``StandardRoIHead`` (boxes only) with a
    ``SingleRoIExtractor`` of average ``RoIAlign`` layers and a ``BBoxHead``
    (``Shared2FCBBoxHead`` and the other ``ConvFCBBoxHead`` forms) with
    softmax scores and ``DeltaXYWHBBoxCoder`` boxes; a ``DetDataPreprocessor``
    or mmmimic's ``ScaledDetDataPreprocessor``.
    """
    from mmcv.ops import RoIAlign
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.roi_heads import StandardRoIHead
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    from mmdet.models.task_modules.prior_generators import AnchorGenerator

    name = _type_name(detector)
    fix = ('; deploy it with PyTorch (tools/misc/extract_student.py and '
           'mmdet.apis) instead')
    rpn = getattr(detector, 'rpn_head', None)
    roi = getattr(detector, 'roi_head', None)
    if rpn is None or roi is None:
        raise UnsupportedForOnnx(
            f'{name} is not a two-stage detector with rpn_head and roi_head: '
            f'the ONNX export covers Faster R-CNN-style detectors{fix}')
    if type(rpn) is not RPNHead:
        raise UnsupportedForOnnx(
            f'rpn_head {_type_name(rpn)}: the ONNX export reproduces mmdet\'s '
            f'RPNHead only{fix}')
    if type(rpn.prior_generator) is not AnchorGenerator:
        raise UnsupportedForOnnx(
            f'rpn_head.prior_generator {_type_name(rpn.prior_generator)}: '
            f'only AnchorGenerator{fix}')
    for part, head in (('rpn_head', rpn), ('roi_head.bbox_head',
                                           getattr(roi, 'bbox_head', None))):
        coder = getattr(head, 'bbox_coder', None)
        if type(coder) is not DeltaXYWHBBoxCoder:
            raise UnsupportedForOnnx(
                f'{part}.bbox_coder {_type_name(coder)}: only '
                f'DeltaXYWHBBoxCoder{fix}')
    if type(roi) is not StandardRoIHead:
        raise UnsupportedForOnnx(
            f'roi_head {_type_name(roi)}: the ONNX export reproduces mmdet\'s '
            'StandardRoIHead only (R-FCN\'s position-sensitive RoI pooling '
            f'has no ONNX operator; cascades and other heads are not '
            f'covered){fix}')
    for part in ('mask_head', 'shared_head'):
        if getattr(roi, part, None) is not None:
            raise UnsupportedForOnnx(
                f'roi_head.{part} {_type_name(getattr(roi, part))}: the ONNX '
                f'export gives boxes only{fix}')
    extractor = roi.bbox_roi_extractor
    if type(extractor) is not SingleRoIExtractor:
        raise UnsupportedForOnnx(
            f'roi_head.bbox_roi_extractor {_type_name(extractor)}: only '
            f'SingleRoIExtractor{fix}')
    for layer in extractor.roi_layers:
        if not isinstance(layer, RoIAlign) or layer.pool_mode != 'avg':
            raise UnsupportedForOnnx(
                f'roi_head.bbox_roi_extractor.roi_layer {_type_name(layer)}: '
                f'only RoIAlign in avg mode{fix}')
    bbox_head = roi.bbox_head
    if not isinstance(bbox_head, BBoxHead) or bbox_head.custom_cls_channels \
            or not bbox_head.with_cls or not bbox_head.with_reg:
        raise UnsupportedForOnnx(
            f'roi_head.bbox_head {_type_name(bbox_head)}: only BBoxHead forms '
            f'with softmax classification and box regression{fix}')
    preprocessor = _type_name(detector.data_preprocessor)
    if preprocessor not in ('DetDataPreprocessor', 'ScaledDetDataPreprocessor'):
        raise UnsupportedForOnnx(
            f'data_preprocessor {preprocessor}: only DetDataPreprocessor and '
            f'ScaledDetDataPreprocessor{fix}')


def decode_deltas(coder, priors: Tensor, deltas: Tensor,
                  img_shape: Tuple[int, int]) -> Tensor:
    """``DeltaXYWHBBoxCoder.decode`` of (N, 4) deltas on (N, 4) priors,
    clipped to ``img_shape``: mmdet's own ``delta2bbox`` with the coder's
    settings (the coder itself switches to a path mmdet 3 no longer has while
    an ONNX export runs)."""
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
    return delta2bbox(priors, deltas, coder.means, coder.stds,
                      max_shape=img_shape, wh_ratio_clip=16 / 1000,
                      clip_border=coder.clip_border,
                      add_ctr_clamp=coder.add_ctr_clamp,
                      ctr_clamp=coder.ctr_clamp)


def batched_nms(boxes: Tensor, scores: Tensor, groups: Tensor,
                iou_threshold: float) -> Tensor:
    """Indices kept by NMS within each group, by descending score: mmcv's
    ``batched_nms`` (each group's boxes shifted apart by the largest
    coordinate + 1), with torchvision's ``nms`` (ONNX ``NonMaxSuppression``).
    Boxes are clipped to the image, so their coordinates are >= 0."""
    from torchvision.ops import nms
    # the largest coordinate, 0 for no boxes (ReduceMax of nothing is not
    # defined in every runtime)
    top = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()
    shifted = boxes + (groups.to(boxes) * (top + 1))[:, None]
    return nms(shifted, scores, iou_threshold)


class OnnxTwoStageGraph(nn.Module):
    """A trained two-stage detector, image in, detections out, traceable.

    Args:
        detector (nn.Module): An mmdet ``TwoStageDetector`` that
            :func:`check_supported` accepts, in eval mode.
        input_shape (tuple[int, int]): (H, W) of the image the graph takes;
            boxes are clipped to it, as mmdet clips to ``img_shape``.

    ``forward(image)``: ``image`` (1, 3, H, W) float32, the image after the
    detector's own preprocessing (BGR->RGB if the config says so, minus mean,
    divided by std, padded). Returns ``boxes`` (N, 4) ``x1, y1, x2, y2`` in
    that image's pixels, ``scores`` (N,), ``labels`` (N,) int64, by
    descending score within the final NMS's order, at most
    ``test_cfg.rcnn.max_per_img``. A ``ScaledDetDataPreprocessor``'s resize
    is part of the graph (boxes come back in the input's pixels).
    """

    def __init__(self, detector: nn.Module,
                 input_shape: Tuple[int, int]) -> None:
        super().__init__()
        check_supported(detector)
        self.detector = detector
        self.input_shape = (int(input_shape[0]), int(input_shape[1]))
        self.input_scale = float(getattr(detector.data_preprocessor,
                                         'input_scale', 1.0))
        test_cfg = detector.test_cfg
        self.rpn_cfg = test_cfg.rpn
        self.rcnn_cfg = test_cfg.rcnn
        if self.rcnn_cfg.nms.get('type', 'nms') != 'nms' or \
                self.rpn_cfg.nms.get('type', 'nms') != 'nms':
            raise UnsupportedForOnnx(
                'test_cfg nms type other than \'nms\' (soft-NMS): the ONNX '
                'export has plain NMS only')

    # --------------------------------------------------------------- steps
    def scaled_input(self, image: Tensor) -> Tuple[Tensor, float, float]:
        """The student's view: the image resized by ``input_scale`` as
        :func:`mmmimic.models.data_preprocessors.scale_batch` does, and the
        applied (sx, sy)."""
        if self.input_scale == 1.0:
            return image, 1.0, 1.0
        height, width = self.input_shape
        new_h = max(1, int(round(height * self.input_scale)))
        new_w = max(1, int(round(width * self.input_scale)))
        image = F.interpolate(image, size=(new_h, new_w), mode='bilinear',
                              align_corners=False)
        return image, new_w / width, new_h / height

    def rpn_outputs(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor],
                                                           List[Tensor]]:
        """The RPN head: objectness and box deltas per level."""
        return self.detector.rpn_head(feats)

    def proposals(self, cls_scores: Sequence[Tensor],
                  bbox_preds: Sequence[Tensor],
                  img_shape: Tuple[int, int]) -> Tensor:
        """RPN proposals (P, 4), as ``RPNHead.predict_by_feat`` for one
        image: top ``nms_pre`` anchors of each level by score, decoded and
        clipped, boxes of non-positive size dropped (``min_bbox_size``),
        NMS within each level, the first ``max_per_img``."""
        rpn = self.detector.rpn_head
        cfg = self.rpn_cfg
        priors = rpn.prior_generator.grid_priors(
            [tuple(c.shape[-2:]) for c in cls_scores],
            dtype=cls_scores[0].dtype, device=cls_scores[0].device)
        nms_pre = cfg.get('nms_pre', -1)
        all_scores, all_deltas, all_priors, levels = [], [], [], []
        for lvl, (cls, reg, anchors) in enumerate(
                zip(cls_scores, bbox_preds, priors)):
            reg = reg[0].permute(1, 2, 0).reshape(-1, 4)
            cls = cls[0].permute(1, 2, 0).reshape(-1, rpn.cls_out_channels)
            scores = cls.sigmoid() if rpn.use_sigmoid_cls else \
                cls.softmax(-1)[:, :-1]
            scores = scores.reshape(-1)
            if 0 < nms_pre < scores.shape[0]:
                scores, order = scores.topk(nms_pre)
                reg, anchors = reg[order], anchors[order]
            all_scores.append(scores)
            all_deltas.append(reg)
            all_priors.append(anchors)
            levels.append(torch.full_like(scores, lvl, dtype=torch.long))
        boxes = decode_deltas(rpn.bbox_coder, torch.cat(all_priors),
                              torch.cat(all_deltas), img_shape)
        scores, levels = torch.cat(all_scores), torch.cat(levels)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            keep = ((boxes[:, 2] - boxes[:, 0]) > min_size) & (
                (boxes[:, 3] - boxes[:, 1]) > min_size)
            boxes, scores, levels = boxes[keep], scores[keep], levels[keep]
        keep = batched_nms(boxes, scores, levels, cfg.nms.iou_threshold)
        proposals = boxes[keep[:cfg.max_per_img]]
        # (P, 5) RoIs of image 0
        return torch.cat([proposals.new_zeros(proposals.shape[0], 1),
                          proposals], dim=1)

    def roi_features(self, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
        """``SingleRoIExtractor``: RoIAlign (torchvision's, ONNX ``RoiAlign``)
        of each RoI on its level by the FPN rule. ``rois`` (P, 5)."""
        from torchvision.ops import roi_align
        extractor = self.detector.roi_head.bbox_roi_extractor
        feats = feats[:extractor.num_inputs]
        layers = extractor.roi_layers

        def align(level: int) -> Tensor:
            layer = layers[level]
            return roi_align(feats[level], rois, layer.output_size,
                             layer.spatial_scale, layer.sampling_ratio,
                             layer.aligned)

        if len(feats) == 1:
            return align(0)
        targets = extractor.map_roi_levels(rois, len(feats))
        out = align(0)
        for level in range(1, len(feats)):
            out = torch.where((targets == level)[:, None, None, None],
                              align(level), out)
        return out

    def detections(self, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                   img_shape: Tuple[int, int], sx: float,
                   sy: float) -> Tuple[Tensor, Tensor, Tensor]:
        """``BBoxHead.predict_by_feat`` for one image: softmax scores, boxes
        decoded per class and clipped, back in the input's pixels, then
        ``multiclass_nms`` (score threshold, NMS per class, the first
        ``max_per_img``)."""
        head = self.detector.roi_head.bbox_head
        cfg = self.rcnn_cfg
        scores = F.softmax(cls_score, dim=-1)
        num_classes = 1 if head.reg_class_agnostic else head.num_classes
        boxes = decode_deltas(
            head.bbox_coder, rois[:, 1:].repeat_interleave(num_classes, dim=0),
            bbox_pred.reshape(-1, 4), img_shape)
        if (sx, sy) != (1.0, 1.0):
            boxes = boxes / boxes.new_tensor([sx, sy, sx, sy])
        boxes = boxes.reshape(rois.shape[0], num_classes, 4).expand(
            -1, head.num_classes, 4).reshape(-1, 4)
        scores = scores[:, :-1].reshape(-1)
        labels = torch.arange(head.num_classes).repeat(rois.shape[0])
        keep = scores > cfg.score_thr
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        keep = batched_nms(boxes, scores, labels, cfg.nms.iou_threshold)
        keep = keep[:cfg.max_per_img]
        return boxes[keep], scores[keep], labels[keep]

    def roi_head_outputs(self, bbox_feats: Tensor) -> Tuple[Tensor, Tensor]:
        """The RoI head: class scores (P, K + 1) and box deltas."""
        return self.detector.roi_head.bbox_head(bbox_feats)

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        image, sx, sy = self.scaled_input(image)
        img_shape = tuple(image.shape[-2:])
        feats = self.detector.extract_feat(image)
        rois = self.proposals(*self.rpn_outputs(feats), img_shape)
        cls_score, bbox_pred = self.roi_head_outputs(
            self.roi_features(feats, rois))
        return self.detections(rois, cls_score, bbox_pred, img_shape, sx, sy)

    def timed_forward(self, image: Tensor,
                      clock) -> Tuple[Tuple[Tensor, Tensor, Tensor], dict]:
        """:meth:`forward` with the seconds of each stage (:data:`STAGES`),
        read from ``clock()`` (e.g. ``time.perf_counter``) between stages."""
        times, start = {}, clock()

        def lap(stage: str, start: float) -> float:
            now = clock()
            times[stage] = now - start
            return now

        image, sx, sy = self.scaled_input(image)
        img_shape = tuple(image.shape[-2:])
        feats = self.detector.extract_feat(image)
        start = lap('backbone and neck', start)
        outs = self.rpn_outputs(feats)
        start = lap('RPN head', start)
        rois = self.proposals(*outs, img_shape)
        start = lap('RPN proposals and NMS', start)
        bbox_feats = self.roi_features(feats, rois)
        start = lap('RoI extraction', start)
        cls_score, bbox_pred = self.roi_head_outputs(bbox_feats)
        start = lap('RoI head', start)
        dets = self.detections(rois, cls_score, bbox_pred, img_shape, sx, sy)
        lap('final NMS', start)
        return dets, times


#: the stages of :class:`OnnxTwoStageGraph`, in order
STAGES = ('backbone and neck', 'RPN head', 'RPN proposals and NMS',
          'RoI extraction', 'RoI head', 'final NMS')


def onnx_ops(model_proto) -> List[Tuple[str, str]]:
    """(domain, op_type) of every node of an ONNX model, subgraphs included."""
    found = []

    def walk(graph):
        for node in graph.node:
            found.append((node.domain, node.op_type))
            for attr in node.attribute:
                if attr.g is not None and len(attr.g.node):
                    walk(attr.g)
                for sub in attr.graphs:
                    walk(sub)

    walk(model_proto.graph)
    return found
