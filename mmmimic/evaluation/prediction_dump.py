"""Prediction dumps (``tools/test.py --out``, MMDetection's ``DumpDetResults``)
read as data and checked where they enter, so that no detection is lost or
invented in silence by a tool that reads one."""
from typing import Any, List, Optional, Sequence

import numpy as np

from mmmimic.utils.safe_pickle import safe_load_pickle


class PredictionDumpError(ValueError):
    """A prediction dump that is not one ``tools/test.py --out`` writes."""


def _array(value: Any) -> np.ndarray:
    """A tensor (on any device) or array-like as a NumPy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_predictions(predictions: Any, source: str,
                      num_classes: Optional[int] = None) -> List[dict]:
    """Check the structure and values of a list of predictions.

    Each item is a dict with ``img_id`` (unique) and ``pred_instances`` holding
    ``bboxes`` (N, 4) ``x1, y1, x2, y2`` finite with ``x2 >= x1`` and
    ``y2 >= y1``, ``scores`` (N,) finite in [0, 1] and ``labels`` (N,) whole
    numbers >= 0 (``< num_classes`` when given).

    Args:
        predictions: What the dump holds.
        source (str): Names the dump in errors (its path and role).
        num_classes (int, optional): The classes the labels index.

    Returns:
        list[dict]: ``predictions`` itself.

    Raises:
        PredictionDumpError: naming ``source``, the item and the field.
    """
    remake = 'make it again with tools/test.py --out'
    if not isinstance(predictions, (list, tuple)):
        raise PredictionDumpError(
            f'{source} holds a {type(predictions).__name__}, not the list of '
            f'per-image predictions tools/test.py --out writes; {remake}')
    if not predictions:
        raise PredictionDumpError(f'{source} holds no image; {remake}')
    seen = {}
    for index, item in enumerate(predictions):
        where = f'{source}, item {index}'
        if not isinstance(item, dict) or 'img_id' not in item or \
                'pred_instances' not in item:
            raise PredictionDumpError(
                f'{where}: not a dict with img_id and pred_instances; '
                f'{remake}')
        img_id = item['img_id']
        where = f'{source}, image {img_id!r} (item {index})'
        if img_id in seen:
            raise PredictionDumpError(
                f'{where}: the image is also item {seen[img_id]}; a dump '
                'holds each test image once')
        seen[img_id] = index
        pred = item['pred_instances']
        missing = [k for k in ('bboxes', 'scores', 'labels')
                   if not isinstance(pred, dict) or k not in pred]
        if missing:
            raise PredictionDumpError(
                f'{where}: pred_instances without {", ".join(missing)}; '
                f'{remake}')
        try:
            boxes, scores, labels = (_array(pred[k]).astype(np.float64)
                                     for k in ('bboxes', 'scores', 'labels'))
        except (TypeError, ValueError) as err:
            raise PredictionDumpError(
                f'{where}: pred_instances are not numbers ({err})') from None
        count = len(scores) if scores.ndim == 1 else -1
        if boxes.shape != (count, 4) or labels.shape != (count, ):
            raise PredictionDumpError(
                f'{where}: bboxes {tuple(boxes.shape)}, scores '
                f'{tuple(scores.shape)}, labels {tuple(labels.shape)}; '
                'expected (N, 4), (N,) and (N,) with one N')
        problem = None
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            problem = 'a NaN or infinite box or score'
        elif ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any():
            row = int(np.flatnonzero((boxes[:, 2] < boxes[:, 0]) |
                                     (boxes[:, 3] < boxes[:, 1]))[0])
            problem = (f'box {row} {boxes[row].tolist()} has x2 < x1 or '
                       'y2 < y1 (boxes are x1, y1, x2, y2)')
        elif ((scores < 0) | (scores > 1)).any():
            problem = 'a score outside [0, 1]'
        elif not (np.isfinite(labels).all() and
                  (labels == np.round(labels)).all() and (labels >= 0).all()):
            problem = 'a label that is not a whole number >= 0'
        elif num_classes is not None and (labels >= num_classes).any():
            problem = (f'label {int(labels.max())}, but the dataset has '
                       f'{num_classes} class(es) (labels 0-{num_classes - 1})')
        if problem:
            raise PredictionDumpError(f'{where}: {problem}')
    return list(predictions)


def load_predictions(path: str, what: str = 'prediction dump',
                     num_classes: Optional[int] = None) -> List[dict]:
    """A prediction dump read by the restricted unpickler (nothing in it runs)
    and checked by :func:`check_predictions`.

    Raises:
        FileNotFoundError, DamagedPickleError, UnsafePickleError: see
            :func:`~mmmimic.utils.safe_pickle.safe_load_pickle`.
        PredictionDumpError: a pickle that is not a prediction dump.
    """
    return check_predictions(safe_load_pickle(path, what), f'{what} {path}',
                             num_classes)


def same_images(dumps: Sequence[Sequence[dict]],
                names: Sequence[str]) -> None:
    """Refuse dumps that hold other images or another order."""
    first = [p['img_id'] for p in dumps[0]]
    for dump, name in zip(dumps[1:], names[1:]):
        ids = [p['img_id'] for p in dump]
        if ids != first:
            extra = len(set(ids) - set(first)) + len(set(first) - set(ids))
            raise PredictionDumpError(
                f'{names[0]} and {name} hold ' +
                (f'other images ({extra} differ)' if extra else
                 'the same images in another order') +
                '; dump both with the same config and test split')


__all__ = ['PredictionDumpError', 'check_predictions', 'load_predictions',
           'same_images']
