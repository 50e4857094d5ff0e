"""What a converted Caltech-format split holds: how many pedestrians a frame
has, how tall they are and how often they are hidden (printed by the converter,
so that a dataset can be set beside Caltech's published description)."""
from collections import defaultdict
from typing import Dict, List

import numpy as np

from mmmimic.evaluation.functional.caltech_setups import SETUPS, setup_ground_truth

#: Dollar et al.'s scales (CVPR 2009): far < 30 px <= medium < 80 px <= near
SCALES = (('far', 0, 30), ('medium', 30, 80), ('near', 80, float('inf')))


def split_statistics(coco: dict) -> Dict[str, float]:
    """Statistics of a COCO-style split as ``caltech.py`` writes it.

    Args:
        coco (dict): ``images`` and ``annotations``, each annotation with
            ``image_id``, ``label``, ``bbox``, ``height`` and ``visibility``,
            each image with ``id``, ``width`` and ``height``.

    Returns:
        dict: ``images``; ``persons`` (label ``person``, any size) and
        ``reasonable`` (person, at least 50 px, at least 65 % visible: the
        Reasonable setup's ground truth) in all and per image; the share of
        images with no person, with no Reasonable person and with two or more
        persons; the persons' height quantiles (10, 50 and 90 %) and share
        per scale (far / medium / near); the share of persons partly or fully
        occluded.
    """
    setup = SETUPS['Reasonable']
    per_image: Dict[int, List[dict]] = defaultdict(list)
    for ann in coco['annotations']:
        per_image[ann['image_id']].append(ann)
    num_images = len(coco['images'])
    persons = [a for a in coco['annotations'] if a['label'] == 'person']
    heights = np.array([float(a['height']) for a in persons])

    def num_reasonable(image: dict) -> int:
        # as CaltechMRMetric counts them: boxes that leave the image by more
        # than 5 px are ignored, widths standardised to 0.41 h
        bounds = (5, 5, image['width'] - 5, image['height'] - 5)
        gts = setup_ground_truth(per_image[image['id']], setup, bounds)
        return int((gts[:, 4] == 0).sum()) if len(gts) else 0

    counts = np.array([sum(a['label'] == 'person' for a in per_image[i['id']])
                       for i in coco['images']])
    reasonable = np.array([num_reasonable(i) for i in coco['images']])
    share = (lambda mask: float(np.mean(mask))) if num_images else \
        (lambda mask: float('nan'))
    out = dict(images=num_images, persons=len(persons),
               persons_per_image=len(persons) / max(num_images, 1),
               reasonable=int(reasonable.sum()),
               reasonable_per_image=float(reasonable.sum()) /
               max(num_images, 1),
               images_without_person=share(counts == 0),
               images_without_reasonable=share(reasonable == 0),
               images_with_two_or_more=share(counts >= 2))
    for q in (10, 50, 90):
        out[f'height_p{q}'] = float(np.percentile(heights, q)) \
            if len(heights) else float('nan')
    for name, low, high in SCALES:
        out[f'share_{name}'] = float(np.mean((heights >= low) &
                                             (heights < high))) \
            if len(heights) else float('nan')
    out['share_occluded'] = float(np.mean(
        [a['visibility'] < 1 for a in persons])) if persons else float('nan')
    return out


def format_statistics(stats: Dict[str, float]) -> str:
    """One paragraph of :func:`split_statistics` for a log."""
    pct = {k: 100 * v for k, v in stats.items() if k.startswith(
        ('images_', 'share_'))}
    return (
        f"{stats['images']} images: {stats['persons_per_image']:.2f} persons "
        f"and {stats['reasonable_per_image']:.2f} Reasonable pedestrians per "
        f"image ({stats['persons']} and {stats['reasonable']}); "
        f"{pct['images_without_person']:.0f} % of images without a person, "
        f"{pct['images_without_reasonable']:.0f} % without a Reasonable one, "
        f"{pct['images_with_two_or_more']:.0f} % with two or more; person "
        f"height 10/50/90 %: {stats['height_p10']:.0f} / "
        f"{stats['height_p50']:.0f} / {stats['height_p90']:.0f} px (far < 30 "
        f"px: {pct['share_far']:.0f} %, medium: {pct['share_medium']:.0f} %, "
        f"near >= 80 px: {pct['share_near']:.0f} %); "
        f"{pct['share_occluded']:.0f} % of persons occluded")


__all__ = ['split_statistics', 'format_statistics', 'SCALES']
