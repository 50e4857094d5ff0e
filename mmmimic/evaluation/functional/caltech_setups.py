"""Caltech evaluation setups: which ground truth counts, which is ignored.

A setup keeps objects with a label in ``labels`` whose height and visible
fraction lie in the (inclusive) ranges and whose box lies inside the image
bounds; other objects with a label in ``ignore_labels``, and the kept-label
objects outside the ranges, become ignore regions; the rest are dropped.
Non-ignored boxes are then standardised to the aspect ratio 0.41 (width from
height, same centre), as are all detections.

Reasonable is the benchmark's main setup (verified against the benchmark's own
numbers); the others follow Dollár et al., PAMI 2012.
"""
import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

INF = math.inf


@dataclass(frozen=True)
class CaltechSetup:
    height: Tuple[float, float] = (50, INF)
    visibility: Tuple[float, float] = (0.65, INF)
    labels: Tuple[str, ...] = ('person', )
    ignore_labels: Tuple[str, ...] = ('people', 'person?')

    @property
    def det_height_range(self) -> Tuple[float, float]:
        """Detections kept for evaluation: ``height / 1.25 .. height * 1.25``."""
        return (self.height[0] / 1.25, self.height[1] * 1.25)


SETUPS: Dict[str, CaltechSetup] = {
    'Reasonable': CaltechSetup((50, INF), (0.65, INF)),
    'All': CaltechSetup((20, INF), (0.2, INF)),
    'Near': CaltechSetup((80, INF), (1.0, INF)),
    'Medium': CaltechSetup((30, 80), (1.0, INF)),
    'Far': CaltechSetup((20, 30), (1.0, INF)),
    'Partial': CaltechSetup((50, INF), (0.65, 1.0 - 1e-9)),
    'Heavy': CaltechSetup((50, INF), (0.2, 0.65)),
}


def standardize_aspect(boxes: np.ndarray, aspect: float = 0.41) -> np.ndarray:
    """(N, >=4) ``[x, y, w, h, ...]`` -> a copy with the same centre and
    height and width ``aspect * h``."""
    boxes = np.array(boxes, dtype=np.float64)
    if len(boxes):
        new_w = boxes[:, 3] * aspect
        boxes[:, 0] += (boxes[:, 2] - new_w) / 2
        boxes[:, 2] = new_w
    return boxes


def setup_ground_truth(objects: Sequence[dict], setup: CaltechSetup,
                       bounds: Optional[Tuple[float, float, float, float]],
                       aspect: Optional[float] = 0.41) -> np.ndarray:
    """(M, 5) ``[x, y, w, h, ignore]`` of one image for ``setup``.

    Args:
        objects: dicts with ``label``, ``bbox`` ``[x, y, w, h]`` and
            ``visibility`` (as the converter writes them).
        bounds: ``(x1, y1, x2, y2)`` a kept box must lie within, or None.
    """
    rows = []
    for obj in objects:
        label = obj['label']
        if label not in setup.labels and label not in setup.ignore_labels:
            continue
        x, y, w, h = (float(v) for v in obj['bbox'])
        vis = float(obj.get('visibility', 1.0))
        ignore = label not in setup.labels
        ignore = ignore or not setup.height[0] <= h <= setup.height[1]
        ignore = ignore or not setup.visibility[0] <= vis <= setup.visibility[1]
        if bounds is not None:
            ignore = ignore or x < bounds[0] or y < bounds[1] or \
                x + w > bounds[2] or y + h > bounds[3]
        rows.append([x, y, w, h, float(ignore)])
    gts = np.array(rows, dtype=np.float64).reshape(-1, 5)
    if aspect is not None and len(gts):
        keep = gts[:, 4] == 0
        gts[keep] = standardize_aspect(gts[keep], aspect)
    return gts
