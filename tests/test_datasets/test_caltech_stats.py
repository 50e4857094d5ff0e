"""Statistics of a converted split (what the converter prints)."""
import math

import pytest

from mmmimic.datasets.caltech.stats import format_statistics, split_statistics


def ann(image_id, label='person', height=60.0, visibility=1.0):
    return dict(image_id=image_id, label=label, height=height,
                visibility=visibility, bbox=[100, 100, 0.41 * height, height])


def test_counts_shares_and_heights_of_a_split():
    coco = dict(images=[dict(id=i, width=640, height=480) for i in range(4)],
                annotations=[
        ann(0), ann(0, height=20.0),              # one Reasonable, one far
        ann(1, visibility=0.5),                    # occluded: not Reasonable
        ann(2, label='people', height=100.0),      # not a person
        ann(3, height=400.0),                      # leaves the image
    ])
    stats = split_statistics(coco)
    assert stats['images'] == 4 and stats['persons'] == 4
    assert stats['reasonable'] == 1
    assert stats['reasonable_per_image'] == pytest.approx(0.25)
    assert stats['images_without_person'] == pytest.approx(0.25)
    assert stats['images_without_reasonable'] == pytest.approx(0.75)
    assert stats['images_with_two_or_more'] == pytest.approx(0.25)
    assert stats['height_p50'] == pytest.approx(60.0)
    assert stats['persons_per_image'] == 1
    assert stats['share_far'] == pytest.approx(1 / 4)
    assert stats['share_medium'] == pytest.approx(2 / 4)
    assert stats['share_near'] == pytest.approx(1 / 4)
    assert stats['share_occluded'] == pytest.approx(1 / 4)
    text = format_statistics(stats)
    assert '0.25 Reasonable pedestrians per image' in text
    assert '25 % of images without a person' in text


def test_a_split_without_persons_has_no_heights():
    stats = split_statistics(dict(images=[dict(id=0, width=9, height=9)],
                                  annotations=[]))
    assert stats['persons'] == 0 and math.isnan(stats['height_p50'])
    assert 'nan' in format_statistics(stats)
