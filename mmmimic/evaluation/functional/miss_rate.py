"""Log-average miss rate exactly as the Caltech Pedestrian benchmark computes it.

The semantics are those of Dollár's evaluation code: ``bbGt('evalRes')`` matches
detections to ground truth per image, ``bbGt('compRoc')`` builds the miss-rate /
FPPI curve over all images, and ``dbEval`` averages the miss rate in log space at
nine reference FPPI values.

Inputs are checked before matching (:func:`check_boxes`): a NaN coordinate or
a box of zero or negative size would make an overlap 0/0 = NaN, which never
fails the ``< thr`` test and so would count as a match without a word.
"""
import math
import warnings
from dataclasses import dataclass, field
from typing import Hashable, Optional, Sequence, Tuple

import numpy as np

# 10 ** linspace(-2, 0, 9): the benchmark's reference false positives per image
REFERENCE_FPPI = 10.0**np.linspace(-2, 0, 9)
# dbEval: exp(mean(log(max(1e-10, 1 - recall_at_ref))))
MIN_MISS_RATE = 1e-10


@dataclass
class MissRateResult:
    """What :func:`evaluate_miss_rate` returns.

    Attributes:
        mr (float): log-average miss rate over ``REFERENCE_FPPI`` (a fraction;
            NaN when there is no positive, as the benchmark's 0/0 recall).
        fppi (np.ndarray): (K,) false positives per image along the curve, one
            point per detection in descending score order.
        miss_rate (np.ndarray): (K,) miss rate at those points.
        scores (np.ndarray): (K,) the detection score of each point.
        ref_fppi (np.ndarray): (9,) reference FPPI values.
        ref_miss_rate (np.ndarray): (9,) miss rate at each reference value.
        num_images (int): images evaluated (empty ones included).
        num_positives (int): non-ignored ground-truth boxes.
    """
    mr: float
    fppi: np.ndarray
    miss_rate: np.ndarray
    scores: np.ndarray
    ref_fppi: np.ndarray = field(default_factory=lambda: REFERENCE_FPPI.copy())
    ref_miss_rate: np.ndarray = field(default_factory=lambda: np.ones(9))
    num_images: int = 0
    num_positives: int = 0


def check_boxes(boxes: np.ndarray,
                name: str,
                image: Optional[Hashable] = None) -> np.ndarray:
    """``boxes`` as a float64 (N, 5) ``[x, y, w, h, score|ignore]`` array.

    Empty input of any shape gives (0, 5).

    Raises:
        ValueError: not (N, 5), a NaN/inf value, or ``w <= 0`` or ``h <= 0``;
            the message names ``name``, ``image`` and the first bad row.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    where = name if image is None else f'{name} of image {image!r}'
    if boxes.size == 0:
        return boxes.reshape(0, 5)
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(f'{where}: shape {tuple(boxes.shape)}, expected '
                         '(N, 5) rows [x, y, w, h, score|ignore]')
    for bad, what in ((~np.isfinite(boxes).all(axis=1), 'NaN or inf'),
                      ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0),
                       'a width or height <= 0')):
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f'{where}: row {row} {boxes[row].tolist()} has {what} '
                f'({int(bad.sum())} such row(s)); rows are [x, y, w, h, '
                'score|ignore] with finite values and w, h > 0')
    return boxes


def check_iou_thr(iou_thr, owner: str = 'evaluate_miss_rate') -> float:
    """``iou_thr`` as a float if it is a number in (0, 1); else ValueError
    naming ``owner``."""
    if isinstance(iou_thr, bool) or not isinstance(
            iou_thr, (int, float, np.floating, np.integer)) or \
            not 0 < iou_thr < 1:
        raise ValueError(
            f'{owner} iou_thr={iou_thr!r}: the overlap a detection needs to '
            'match a person, a number between 0 and 1 exclusive (the '
            'benchmark uses 0.5)')
    return float(iou_thr)


def check_height_range(height_range, owner: str = 'evaluate_miss_rate'
                       ) -> Tuple[float, float]:
    """``(low, high)`` of detection heights, ``0 <= low < high`` (high may be
    inf); else ValueError naming ``owner``."""
    try:
        low, high = (float(v) for v in height_range)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (0 <= low < high) or math.isnan(high):
        raise ValueError(
            f'{owner} det_height_range={height_range!r}: give (low, high) '
            'pixels with 0 <= low < high, e.g. (40, inf) for the Reasonable '
            'setup (50 / 1.25)')
    return low, high


def box_overlaps(dets: np.ndarray, gts: np.ndarray,
                 gt_ignore: np.ndarray) -> np.ndarray:
    """Overlap of each detection with each ground-truth box (``[x y w h]``).

    IoU for normal boxes; for ignore regions, intersection over the
    detection's area (an ignore region "absorbs" any detection inside it).

    Returns:
        np.ndarray: (K, M).
    """
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    dx1, dy1 = dets[:, 0:1], dets[:, 1:2]
    dx2, dy2 = dx1 + dets[:, 2:3], dy1 + dets[:, 3:4]
    gx1, gy1 = gts[None, :, 0], gts[None, :, 1]
    gx2, gy2 = gx1 + gts[None, :, 2], gy1 + gts[None, :, 3]
    iw = np.minimum(dx2, gx2) - np.maximum(dx1, gx1)
    ih = np.minimum(dy2, gy2) - np.maximum(dy1, gy1)
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    det_area = dets[:, 2:3] * dets[:, 3:4]
    gt_area = gts[None, :, 2] * gts[None, :, 3]
    union = np.where(gt_ignore[None, :], det_area, det_area + gt_area - inter)
    return inter / union


def match_image(gts: np.ndarray, dets: np.ndarray,
                iou_thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Greedy matching of one image (``bbGt('evalRes')``, ``mul=0``).

    Detections go by descending score (stable), ground truth non-ignored
    first (stable). A detection takes the unmatched box with the highest
    overlap >= ``iou_thr``; once it overlaps a non-ignored box, ignore regions
    are not considered; a detection matching only an ignore region is ignored
    (neither true nor false positive), and ignore regions absorb any number.

    Args:
        gts (np.ndarray): (M, 5) ``[x, y, w, h, ignore]``.
        dets (np.ndarray): (K, 5) ``[x, y, w, h, score]``.

    Returns:
        tuple[np.ndarray]: detections sorted by score (K, 5) and their match
        (K,): 1 true positive, 0 false positive, -1 ignored.

    Raises:
        ValueError: see :func:`check_boxes`.
    """
    gts = check_boxes(gts, 'ground truth')
    dets = check_boxes(dets, 'detections')
    dets = dets[np.argsort(-dets[:, 4], kind='stable')]
    gts = gts[np.argsort(gts[:, 4], kind='stable')]
    ignore = gts[:, 4] != 0
    # per gt: 0 unmatched, 1 matched, -1 ignore region
    gt_state = np.where(ignore, -1, 0)
    det_match = np.zeros(len(dets), dtype=np.int64)
    overlaps = box_overlaps(dets[:, :4], gts[:, :4], ignore)
    for d in range(len(dets)):
        best_overlap, best_gt, best_kind = iou_thr, -1, 0
        for g in range(len(gts)):
            state = gt_state[g]
            if state == 1:
                continue
            if best_kind != 0 and state == -1:
                break
            if overlaps[d, g] < best_overlap:
                continue
            best_overlap, best_gt = overlaps[d, g], g
            best_kind = 1 if state == 0 else -1
        if best_kind == -1:
            det_match[d] = -1
        elif best_kind == 1:
            gt_state[best_gt] = 1
            det_match[d] = 1
    return dets, det_match


def filter_detections(dets: np.ndarray,
                      height_range: Tuple[float, float]) -> np.ndarray:
    """Keep detections with ``height_range[0] <= h < height_range[1]``."""
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
    keep = (dets[:, 3] >= height_range[0]) & (dets[:, 3] < height_range[1])
    return dets[keep]


def evaluate_miss_rate(gts: Sequence[np.ndarray],
                       dets: Sequence[np.ndarray],
                       iou_thr: float = 0.5,
                       det_height_range: Tuple[float, float] = (50 / 1.25,
                                                                math.inf),
                       image_ids: Optional[Sequence[Hashable]] = None
                       ) -> MissRateResult:
    """Log-average miss rate of detections against filtered ground truth.

    Args:
        gts (sequence[np.ndarray]): per image (M, 5) ``[x, y, w, h, ignore]``,
            already filtered for the setup and aspect-standardised (bbGt).
        dets (sequence[np.ndarray]): per image (K, 5) ``[x, y, w, h, score]``,
            aspect-standardised.
        iou_thr (float): overlap for a match.
        det_height_range (tuple[float]): detections outside are dropped first
            (the benchmark: ``hRng / 1.25`` .. ``hRng * 1.25``).
        image_ids (sequence, optional): a name per image for error messages;
            the index by default.

    Returns:
        MissRateResult: ``mr`` and the curve. With no positive at all, ``mr``
        and the miss rates are NaN and a warning is given (the benchmark's
        recall is 0/0 there).

    Raises:
        ValueError: ``iou_thr`` outside (0, 1), a height range that is not
            ``0 <= low < high``, lengths that differ, or a box malformed, not
            finite or of size <= 0 (:func:`check_boxes`), all checked before
            any matching.
    """
    iou_thr = check_iou_thr(iou_thr)
    det_height_range = check_height_range(det_height_range)
    if len(gts) != len(dets):
        raise ValueError(f'evaluate_miss_rate: {len(gts)} ground-truth images '
                         f'but {len(dets)} detection images')
    num_images = len(gts)
    if image_ids is None:
        image_ids = range(num_images)
    elif len(image_ids) != num_images:
        raise ValueError(f'evaluate_miss_rate: {len(image_ids)} image_ids for '
                         f'{num_images} images')
    gts = [check_boxes(gt, 'ground truth', i) for gt, i in zip(gts, image_ids)]
    dets = [check_boxes(det, 'detections', i) for det, i in zip(dets, image_ids)]
    all_scores, all_matches, num_positives = [], [], 0
    for gt, det in zip(gts, dets):
        num_positives += int(np.sum(gt[:, 4] == 0))
        det, match = match_image(gt, filter_detections(det, det_height_range),
                                 iou_thr)
        all_scores.append(det[:, 4])
        all_matches.append(match)
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    matches = np.concatenate(all_matches) if all_matches else np.zeros(0, int)
    order = np.argsort(-scores, kind='stable')
    scores, matches = scores[order], matches[order]
    tp = np.cumsum(matches == 1)
    fp = np.cumsum(matches == 0)
    fppi = fp / max(num_images, 1)
    if num_positives == 0:
        warnings.warn(
            f'evaluate_miss_rate: no positive (non-ignored) ground truth in '
            f'{num_images} images: the miss rate is undefined, MR = NaN '
            '(check the setup\'s height/visibility ranges and the annotations)',
            stacklevel=2)
        recall = np.full(len(tp), np.nan)
    else:
        recall = tp / num_positives
    # recall at the last curve point with fppi <= ref; 0 before the first
    padded_fppi = np.concatenate([[-np.inf], fppi])
    padded_recall = np.concatenate([[0.0 if num_positives else np.nan],
                                    recall])
    ref_recall = np.array([
        padded_recall[np.nonzero(padded_fppi <= ref)[0][-1]]
        for ref in REFERENCE_FPPI
    ])
    ref_miss = 1.0 - ref_recall
    mr = float(np.exp(np.mean(np.log(np.maximum(MIN_MISS_RATE, ref_miss)))))
    return MissRateResult(
        mr=mr, fppi=fppi, miss_rate=1.0 - recall, scores=scores,
        ref_fppi=REFERENCE_FPPI.copy(), ref_miss_rate=ref_miss,
        num_images=num_images, num_positives=num_positives)

