from .caltech_setups import SETUPS, CaltechSetup, setup_ground_truth, standardize_aspect
from .miss_rate import (
                             REFERENCE_FPPI,
                             MissRateResult,
                             box_overlaps,
                             check_boxes,
                             check_height_range,
                             check_iou_thr,
                             evaluate_miss_rate,
                             filter_detections,
                             match_image,
)

__all__ = [
    'REFERENCE_FPPI', 'MissRateResult', 'box_overlaps', 'check_boxes',
    'check_iou_thr', 'check_height_range',
    'evaluate_miss_rate', 'filter_detections', 'match_image', 'SETUPS',
    'CaltechSetup', 'setup_ground_truth', 'standardize_aspect'
]
