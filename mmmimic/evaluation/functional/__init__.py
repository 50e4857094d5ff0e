from .miss_rate import (
                        REFERENCE_FPPI,
                        MissRateResult,
                        box_overlaps,
                        evaluate_miss_rate,
                        filter_detections,
                        match_image,
)

__all__ = [
    'REFERENCE_FPPI', 'MissRateResult', 'box_overlaps', 'evaluate_miss_rate',
    'filter_detections', 'match_image'
]
