"""Two runtimes' detections of the same images, compared."""
from typing import Dict, Sequence, Tuple

import numpy as np

from mmmimic.evaluation.prediction_dump import same_images

Detections = Tuple[np.ndarray, np.ndarray, np.ndarray]   # boxes, scores, labels


def match_detections(got: Detections, expected: Detections,
                     box_atol: float = 0.05,
                     score_atol: float = 1e-4) -> Dict[str, float]:
    """Match two detection sets one to one (the cheapest assignment by box
    difference, then score, labels first) and say how close they are.

    Args:
        got, expected: ``(boxes (N, 4), scores (N,), labels (N,))``.
        box_atol (float): Largest coordinate difference (pixels) of a match.
        score_atol (float): Largest score difference of a match.

    Returns:
        dict: ``matched`` (pairs within both tolerances and with equal
        labels), ``larger`` (the larger set's size), ``max_box_diff`` and
        ``max_score_diff`` over the assigned pairs (0 without pairs).
    """
    from scipy.optimize import linear_sum_assignment
    boxes, scores, labels = (np.asarray(a) for a in got)
    ref_boxes, ref_scores, ref_labels = (np.asarray(a) for a in expected)
    larger = max(len(boxes), len(ref_boxes))
    if min(len(boxes), len(ref_boxes)) == 0:
        return dict(matched=0, larger=larger, max_box_diff=0.0,
                    max_score_diff=0.0)
    box_diff = np.abs(boxes[:, None] - ref_boxes[None]).max(-1)
    score_diff = np.abs(scores[:, None] - ref_scores[None])
    cost = box_diff + 1e3 * score_diff + 1e6 * (labels[:, None] !=
                                               ref_labels[None])
    rows, cols = linear_sum_assignment(cost)
    good = (box_diff[rows, cols] <= box_atol) & (
        score_diff[rows, cols] <= score_atol) & (
            labels[rows] == ref_labels[cols])
    return dict(matched=int(good.sum()), larger=larger,
                max_box_diff=float(box_diff[rows, cols].max()),
                max_score_diff=float(score_diff[rows, cols].max()))


def compare_predictions(got: Sequence[dict], expected: Sequence[dict],
                        **tolerances) -> Dict[str, float]:
    """:func:`match_detections` image by image over two prediction dumps of
    ``tools/test.py --out`` (the same images in the same order).

    Returns:
        dict: ``images``, ``identical_images`` (every detection matched,
        same count), ``detections`` (of ``expected``), ``matched``,
        ``max_box_diff`` (the largest over images: the worst image's largest
        coordinate difference), ``max_score_diff``.
    """
    same_images([got, expected], ['got', 'expected'])
    total = dict(images=len(got), identical_images=0, detections=0,
                 matched=0, max_box_diff=0.0, max_score_diff=0.0)
    for one, ref in zip(got, expected):
        one, ref = one['pred_instances'], ref['pred_instances']
        result = match_detections(
            *[tuple(np.asarray(d[k]) for k in ('bboxes', 'scores', 'labels'))
              for d in (one, ref)], **tolerances)
        total['identical_images'] += int(
            result['matched'] == result['larger'] ==
            len(ref['bboxes']) == len(one['bboxes']))
        total['detections'] += len(ref['bboxes'])
        total['matched'] += result['matched']
        for key in ('max_box_diff', 'max_score_diff'):
            total[key] = max(total[key], result[key])
    return total
