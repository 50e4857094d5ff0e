"""evaluate_miss_rate: the benchmark's number on real files, and the rules."""
import math
import os.path as osp

import numpy as np
import pytest

from mmmimic.evaluation.functional import (
    REFERENCE_FPPI,
    box_overlaps,
    check_boxes,
    evaluate_miss_rate,
    match_image,
)

from ..conftest import SHARED_FIXTURES

CALTECH = osp.join(SHARED_FIXTURES, 'caltech')
needs_fixtures = pytest.mark.skipif(
    not osp.isdir(CALTECH),
    reason=f'{CALTECH} is absent (real Caltech files live beside the repository '
    'on the development machines only)')


def load_cells(name, key):
    import scipy.io as sio
    return list(sio.loadmat(osp.join(CALTECH, name))[key][0])


@needs_fixtures
def test_acf_caltech_reasonable_matches_the_benchmark():
    """Dollár's evaluation scores ACF-Caltech at MR-2 = 44.2191 % here."""
    gts = load_cells('gt-Reasonable.mat', 'gt')
    result = evaluate_miss_rate(gts, load_cells('dt-ACF-Caltech.mat', 'dt'))
    assert len(gts) == 4024 and result.num_images == 4024
    assert result.mr == pytest.approx(0.442191, abs=1e-6)
    # the curve is monotone: miss rate falls as FPPI grows
    assert np.all(np.diff(result.fppi) >= 0)
    assert np.all(np.diff(result.miss_rate) <= 1e-12)


def test_reference_points():
    assert np.allclose(REFERENCE_FPPI, [10**(-2 + i / 4) for i in range(9)])


def test_ignore_regions_use_intersection_over_detection():
    dets = np.array([[10., 10., 10., 20.]])
    gts = np.array([[0., 0., 100., 100.]])
    assert box_overlaps(dets, gts, np.array([True]))[0, 0] == 1.0
    assert box_overlaps(dets, gts, np.array([False]))[0, 0] == pytest.approx(
        200 / 10000)


def test_matching_rules_by_hand():
    gts = np.array([
        [0, 0, 20, 50, 1],     # ignore region, listed first: sorted after
        [100, 0, 20, 50, 0],
    ], dtype=float)
    dets = np.array([
        [101, 0, 20, 50, 0.5],   # matches the person
        [100, 1, 20, 50, 0.9],   # higher score: matches the person first
        [2, 2, 10, 20, 0.8],     # inside the ignore region: ignored
        [3, 3, 10, 20, 0.7],     # also absorbed by the ignore region
        [300, 0, 20, 50, 0.6],   # nothing there: false positive
    ], dtype=float)
    sorted_dets, match = match_image(gts, dets)
    assert list(sorted_dets[:, 4]) == [0.9, 0.8, 0.7, 0.6, 0.5]
    assert list(match) == [1, -1, -1, 0, 0]   # the 0.5 one: person taken


def test_non_ignored_match_wins_over_ignore_region():
    gts = np.array([[0, 0, 20, 50, 0], [0, 0, 40, 100, 1]], dtype=float)
    _, match = match_image(gts, np.array([[0, 0, 20, 50, 1.0]]))
    assert list(match) == [1]


def test_curve_and_reference_miss_rates_by_hand():
    """Two images, two people; the first image also has a false positive.

    In score order: tp (fppi 0), fp (0.5), tp (0.5): recall 1 at fppi 0.5, so
    the reference points >= 0.5 have miss rate 0 and the earlier ones 0.5."""
    gts = [np.array([[0, 0, 20, 50, 0]], float), np.array([[0, 0, 20, 50, 0]],
                                                          float)]
    dets = [np.array([[0, 0, 20, 50, .9], [200, 0, 20, 50, .8]]),
            np.array([[0, 0, 20, 50, .7]])]
    result = evaluate_miss_rate(gts, dets)
    assert list(result.fppi) == [0, .5, .5]
    assert list(result.miss_rate) == [.5, .5, 0]
    expected = [0.5 if ref < 0.5 else 0.0 for ref in REFERENCE_FPPI]
    assert list(result.ref_miss_rate) == expected
    # dbEval clamps: exp(mean(log(max(1e-10, miss)))), so the two zero
    # reference points count as 1e-10, not 0 (which would give MR = 0)
    assert result.mr == pytest.approx(math.exp(
        (7 * math.log(0.5) + 2 * math.log(1e-10)) / 9), rel=1e-12)
    assert result.mr > 0


def test_no_point_below_a_reference_counts_as_full_miss():
    gts = [np.array([[0, 0, 20, 50, 0]], float)]
    dets = [np.array([[300, 0, 20, 50, .9], [0, 0, 20, 50, .1]])]
    result = evaluate_miss_rate(gts, dets)
    # fppi is 1 from the first point on: only ref = 1 sees recall 1
    assert list(result.ref_miss_rate) == [1] * 8 + [0]
    gts = [np.array([[0, 0, 20, 50, 0]], float)] * 4
    dets = [np.array([[300, 0, 20, 50, .9], [0, 0, 20, 50, .1]])] + \
        [np.zeros((0, 5))] * 3
    result = evaluate_miss_rate(gts, dets)
    assert result.mr == pytest.approx(math.exp(
        np.mean(np.log(np.where(REFERENCE_FPPI >= 0.25, 0.75, 1.0)))))


def test_small_detections_are_dropped_first():
    gts = [np.array([[0, 0, 16, 39, 0]], float)]
    result = evaluate_miss_rate(gts, [np.array([[0, 0, 16, 39, .9]])])
    assert len(result.scores) == 0 and result.mr == 1.0


def test_length_mismatch():
    with pytest.raises(ValueError, match='2 ground-truth images but 1'):
        evaluate_miss_rate([np.zeros((0, 5))] * 2, [np.zeros((0, 5))])


def test_all_reference_points_found_gives_the_clamp_not_zero():
    gts = [np.array([[0, 0, 20, 50, 0]], float)]
    result = evaluate_miss_rate(gts, [np.array([[0, 0, 20, 50, .9]])])
    assert list(result.ref_miss_rate) == [0.0] * 9
    assert result.mr == pytest.approx(1e-10, rel=1e-9)


def test_no_positive_gives_nan_with_a_warning():
    gts = [np.array([[0, 0, 20, 50, 1]], float), np.zeros((0, 5))]
    dets = [np.array([[300, 0, 20, 50, .9]]), np.zeros((0, 5))]
    with pytest.warns(UserWarning, match='no positive'):
        result = evaluate_miss_rate(gts, dets)
    assert math.isnan(result.mr) and np.isnan(result.ref_miss_rate).all()
    assert result.num_positives == 0
    with pytest.warns(UserWarning, match='no positive'):
        assert math.isnan(evaluate_miss_rate([np.zeros((0, 5))],
                                             [np.zeros((0, 5))]).mr)


@pytest.mark.parametrize('bad, message', [
    ([0, 0, 20, math.nan, .9], r"detections of image 'b': row 1 .*NaN or inf"),
    ([0, 0, 20, 50, math.nan], r"detections of image 'b': row 1 .*NaN or inf"),
    ([0, 0, math.inf, 50, .9], r"detections of image 'b': row 1 .*NaN or inf"),
    ([30, 0, -20, 50, .9], r"detections of image 'b': row 1 .*<= 0"),
    ([0, 0, 20, 0, .9], r"detections of image 'b': row 1 .*<= 0"),
])
def test_bad_detections_are_refused_before_matching(bad, message):
    """A negative width made IoU 0/0 = NaN, which counted as a match."""
    gts = [np.zeros((0, 5)), np.array([[0, 0, 20, 50, 0]], float)]
    dets = [np.zeros((0, 5)), np.array([[0, 0, 20, 50, .5], bad])]
    with pytest.raises(ValueError, match=message):
        evaluate_miss_rate(gts, dets, image_ids=['a', 'b'])
    with pytest.raises(ValueError, match=r'detections: row 1'):
        match_image(gts[1], dets[1])


@pytest.mark.parametrize('bad, message', [
    ([0, 0, 20, math.nan, 0], 'NaN or inf'),
    ([0, 0, -20, 50, 1], '<= 0'),
    ([0, 0, 20, 0, 0], '<= 0'),
])
def test_bad_ground_truth_is_refused(bad, message):
    gts = [np.array([[0, 0, 20, 50, 0], bad], float)]
    with pytest.raises(ValueError, match=f'ground truth of image 0: row 1 .*'
                       f'{message}'):
        evaluate_miss_rate(gts, [np.zeros((0, 5))])


def test_box_shapes():
    assert check_boxes([], 'dets').shape == (0, 5)
    assert check_boxes(np.zeros((0, 4)), 'dets').shape == (0, 5)
    with pytest.raises(ValueError, match=r'detections of image 0: shape '
                       r'\(1, 4\), expected \(N, 5\)'):
        evaluate_miss_rate([np.zeros((0, 5))], [np.ones((1, 4))])
    with pytest.raises(ValueError, match=r'ground truth of image 0: shape '
                       r'\(5,\)'):
        evaluate_miss_rate([np.ones(5)], [np.zeros((0, 5))])
    with pytest.raises(ValueError, match='1 image_ids for 2 images'):
        evaluate_miss_rate([np.zeros((0, 5))] * 2, [np.zeros((0, 5))] * 2,
                           image_ids=[0])


@pytest.mark.parametrize('kwargs', [
    dict(iou_thr=0), dict(iou_thr=-1), dict(iou_thr=float('nan')),
    dict(iou_thr=1.5), dict(iou_thr=True), dict(det_height_range=(80, 40)),
    dict(det_height_range=(float('nan'), 1)), dict(det_height_range=(-1, 5)),
    dict(det_height_range=(5, )),
])
def test_the_function_refuses_what_the_metric_refuses(kwargs):
    """evaluate_miss_rate checks its numbers as CaltechMRMetric does (one
    check each), instead of returning 0 % or 100 %."""
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=f'evaluate_miss_rate {key}='):
        evaluate_miss_rate([np.zeros((0, 5))], [np.zeros((0, 5))], **kwargs)
