from typing import List, Optional, Tuple

import torch
from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor

from mmmimic.registry import TASK_UTILS

ORDERS = ('score', 'random')
SOURCES = ('proposals', 'gt')


@TASK_UTILS.register_module()
class MimicRegionSampler:
    """Pick the regions the student mimics the teacher in.

    From each image's RPN proposals (taken before the RoI head renames
    ``bboxes`` to ``priors``), up to ``num`` regions: ``pos_fraction`` of them
    positives (IoU with a ground-truth box >= ``pos_iou_thr``), the rest
    negatives (IoU < ``neg_iou_thr``), highest-scoring first or random; when
    positives run short, negatives fill the quota. Ignored ground truth (the
    sample's ``ignored_instances``, e.g. Caltech's crowds) never makes a
    positive; with ``ignore_iof_thr`` > 0, a proposal lying in an ignored box
    (IoF above it) is neither positive nor negative, as mmdet's
    ``MaxIoUAssigner`` treats it. With ``source='gt'`` (the paper's worse
    alternative), the ground-truth boxes themselves are the positives, plus
    random negative proposals.

    Args:
        num (int): Regions per image (the paper: 256 or 512).
        pos_fraction (float): Share of positives, 0.5 for the paper's 1:1.
        pos_iou_thr (float): IoU with ground truth for a positive.
        neg_iou_thr (float, optional): IoU below which a proposal is negative;
            defaults to ``pos_iou_thr`` (every proposal is one or the other).
        order (str): ``'score'`` (top proposals) or ``'random'``.
        source (str): ``'proposals'`` or ``'gt'``.
        ignore_iof_thr (float): IoF with an ignored box above which a
            proposal is left out; -1 (default, mmdet's) keeps such proposals
            as negatives.
        iou_calculator (dict): mmdet IoU calculator config.
    """

    def __init__(self,
                 num: int = 256,
                 pos_fraction: float = 0.5,
                 pos_iou_thr: float = 0.5,
                 neg_iou_thr: Optional[float] = None,
                 order: str = 'score',
                 source: str = 'proposals',
                 ignore_iof_thr: float = -1,
                 iou_calculator: dict = dict(type='mmdet.BboxOverlaps2D')):
        if num < 1:
            raise ValueError(f'MimicRegionSampler num={num}: at least 1')
        if not 0.0 <= pos_fraction <= 1.0:
            raise ValueError(
                f'MimicRegionSampler pos_fraction={pos_fraction}: in [0, 1]')
        if order not in ORDERS:
            raise ValueError(
                f'MimicRegionSampler order={order!r}: one of {ORDERS}')
        if source not in SOURCES:
            raise ValueError(
                f'MimicRegionSampler source={source!r}: one of {SOURCES}')
        self.num = num
        self.pos_fraction = pos_fraction
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = pos_iou_thr if neg_iou_thr is None else neg_iou_thr
        if self.neg_iou_thr > self.pos_iou_thr:
            raise ValueError(
                f'MimicRegionSampler neg_iou_thr={self.neg_iou_thr} is above '
                f'pos_iou_thr={pos_iou_thr}: a proposal could be both')
        self.order = order
        self.source = source
        self.ignore_iof_thr = ignore_iof_thr
        self.iou_calculator = TASK_UTILS.build(iou_calculator)

    def sample(self, proposals: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None
               ) -> Tuple[Tensor, Tensor]:
        """Regions of one image.

        Args:
            proposals (InstanceData): ``bboxes`` (P, 4) and ``scores`` (P,).
            gt_instances (InstanceData): ``bboxes`` (G, 4).
            gt_instances_ignore (InstanceData, optional): ``bboxes`` (I, 4),
                ignored boxes (see ``ignore_iof_thr``).

        Returns:
            tuple[Tensor]: boxes (M, 4) and a positive mask (M,), M <= num.
        """
        boxes = proposals.bboxes.detach()
        scores = proposals.scores.detach() if 'scores' in proposals \
            else boxes.new_zeros(len(boxes))
        gt_boxes = gt_instances.bboxes
        gt_boxes = gt_boxes.tensor if hasattr(gt_boxes, 'tensor') else gt_boxes
        gt_boxes = gt_boxes.to(boxes)
        if len(gt_boxes) and len(boxes):
            max_iou = self.iou_calculator(boxes, gt_boxes).max(dim=1).values
        else:
            max_iou = boxes.new_zeros(len(boxes))
        kept = self._not_ignored(boxes, gt_instances_ignore)
        neg_idx = torch.nonzero((max_iou < self.neg_iou_thr) & kept).flatten()

        num_pos_wanted = int(round(self.num * self.pos_fraction))
        if self.source == 'gt':
            pos_boxes = self._take(gt_boxes, gt_boxes.new_zeros(len(gt_boxes)),
                                   torch.arange(len(gt_boxes),
                                                device=boxes.device),
                                   num_pos_wanted, 'random')
            neg_order = 'random'
        else:
            pos_idx = torch.nonzero((max_iou >= self.pos_iou_thr)
                                    & kept).flatten()
            pos_boxes = self._take(boxes, scores, pos_idx, num_pos_wanted,
                                   self.order)
            neg_order = self.order
        neg_boxes = self._take(boxes, scores, neg_idx,
                               self.num - len(pos_boxes), neg_order)
        regions = torch.cat([pos_boxes, neg_boxes])
        is_pos = torch.zeros(len(regions), dtype=torch.bool,
                             device=boxes.device)
        is_pos[:len(pos_boxes)] = True
        return regions, is_pos

    def __call__(self, rpn_results_list: List[InstanceData],
                 batch_data_samples: SampleList) -> Tuple[Tensor, Tensor]:
        """Regions of a batch as RoIs.

        Returns:
            tuple[Tensor]: rois (N, 5) ``[batch_idx, x1, y1, x2, y2]`` and a
            positive mask (N,).
        """
        rois, positives = [], []
        for i, (proposals, sample) in enumerate(
                zip(rpn_results_list, batch_data_samples)):
            ignore = sample.get('ignored_instances', None)
            boxes, is_pos = self.sample(proposals, sample.gt_instances, ignore)
            rois.append(torch.cat([boxes.new_full((len(boxes), 1), i), boxes],
                                  dim=1))
            positives.append(is_pos)
        return torch.cat(rois), torch.cat(positives)

    def _not_ignored(self, boxes: Tensor,
                     ignore: Optional[InstanceData]) -> Tensor:
        """(P, ) bool: proposals not inside an ignored box (all of them
        while ``ignore_iof_thr`` <= 0)."""
        kept = torch.ones(len(boxes), dtype=torch.bool, device=boxes.device)
        if self.ignore_iof_thr <= 0 or ignore is None or not len(boxes):
            return kept
        ignored = ignore.bboxes
        ignored = ignored.tensor if hasattr(ignored, 'tensor') else ignored
        if not len(ignored):
            return kept
        iof = self.iou_calculator(boxes, ignored.to(boxes), mode='iof')
        return iof.max(dim=1).values <= self.ignore_iof_thr

    @staticmethod
    def _take(boxes: Tensor, scores: Tensor, idx: Tensor, num: int,
              order: str) -> Tensor:
        """Up to ``num`` of ``boxes[idx]``, by descending score or at random."""
        if num <= 0 or len(idx) == 0:
            return boxes.new_zeros((0, 4))
        if order == 'score':
            idx = idx[scores[idx].argsort(descending=True)]
        else:
            idx = idx[torch.randperm(len(idx), device=idx.device)]
        return boxes[idx[:num]]
