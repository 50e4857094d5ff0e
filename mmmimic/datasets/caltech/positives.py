"""Which Caltech objects are training positives: shared by the converter
(which writes them) and the dataset (which may apply another rule when
loading)."""
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np


@dataclass
class PositiveRule:
    """Which objects are positives when training; the rest become ignore."""
    labels: Tuple[str, ...] = ('person', )
    min_height: float = 50.0
    min_visibility: float = 0.65

    def is_positive(self, label: str, height: float, visibility: float) -> bool:
        return (label in self.labels and height >= self.min_height
                and visibility >= self.min_visibility)


def visibility_ratio(pos: Sequence[float], posv: Sequence[float],
                     occluded: bool) -> float:
    """Visible fraction as the benchmark computes it: 1 if not occluded, 0 if
    occluded without a visible box, else area(visible) / area(box)."""
    if not occluded:
        return 1.0
    if not np.any(np.asarray(posv)):
        return 0.0
    area = pos[2] * pos[3]
    return float(posv[2] * posv[3] / area) if area > 0 else 0.0


__all__ = ['PositiveRule', 'visibility_ratio']
