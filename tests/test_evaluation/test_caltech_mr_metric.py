"""CaltechMRMetric: the benchmark's number end to end, curves, dumps, errors."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from mmmimic.evaluation import CaltechMRMetric

from .test_miss_rate import load_cells, needs_fixtures


def write_ann(path, images, objects):
    anns = [dict(o, id=k + 1, category_id=1) for k, o in enumerate(objects)]
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns,
                       categories=[dict(id=1, name='person')]), f)
    return str(path)


def predict(metric, image_id, xywh_scores):
    det = np.asarray(xywh_scores, float).reshape(-1, 5)
    boxes = np.concatenate([det[:, :2], det[:, :2] + det[:, 2:4]], axis=1)
    metric.process({}, [dict(img_id=image_id, pred_instances=dict(
        bboxes=torch.tensor(boxes), scores=torch.tensor(det[:, 4])))])


@needs_fixtures
def test_acf_caltech_through_the_metric(tmp_path):
    """Raw-style annotations rebuilt from gt-Reasonable (kept boxes as
    'person', ignore regions as 'people'): the metric's own filtering and
    aspect standardisation reproduce MR-2 = 44.2191 %."""
    gts = load_cells('gt-Reasonable.mat', 'gt')
    images, objects = [], []
    for i, gt in enumerate(gts):
        images.append(dict(id=i, file_name=f'{i}.jpg', width=640, height=480))
        for x, y, w, h, ign in gt:
            objects.append(dict(image_id=i, bbox=[x, y, w, h], height=h,
                                label='people' if ign else 'person',
                                visibility=1.0))
    ann = write_ann(tmp_path / 'test.json', images, objects)
    # the fixture's boxes are already standardised: bounds were checked before
    metric = CaltechMRMetric(ann, curve_dir=str(tmp_path),
                             image_bounds=(-1e9, -1e9, 1e9, 1e9))
    for i, det in enumerate(load_cells('dt-ACF-Caltech.mat', 'dt')):
        predict(metric, i, det)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['Reasonable_MR'] == pytest.approx(44.2191, abs=1e-4)
    assert osp.getsize(tmp_path / 'caltech_mr_fppi.png') > 10000


def test_setups_by_hand_curve_png_and_dump(tmp_path):
    images = [dict(id=0, file_name='a.jpg', width=640, height=480, set='set06',
                   video='V000', frame=29),
              dict(id=1, file_name='b.jpg', width=640, height=480, set='set06',
                   video='V000', frame=59)]
    objects = [
        dict(image_id=0, bbox=[100, 100, 41, 100], height=100, label='person',
             visibility=1.0),
        dict(image_id=0, bbox=[300, 100, 16, 40], height=40, label='person',
             visibility=1.0),                         # Reasonable: ignored
        dict(image_id=1, bbox=[200, 100, 30, 70], height=70, label='person',
             visibility=0.5),                         # Reasonable: ignored
    ]
    ann = write_ann(tmp_path / 'test.json', images, objects)
    metric = CaltechMRMetric(ann, setups=('Reasonable', 'All', 'Heavy'),
                             curve_dir=str(tmp_path / 'curves'),
                             dump_dir=str(tmp_path / 'dump'))
    predict(metric, 0, [[100, 100, 41, 100, 0.9], [300, 100, 16, 40, 0.8]])
    predict(metric, 1, [[500, 100, 41, 100, 0.7]])
    metrics = metric.compute_metrics(metric.results)
    # Reasonable: 1 person found at fppi 0 -> MR 0; the 40 px detection falls
    # on an ignore region; the one at 500 is the only false positive
    assert metrics['Reasonable_MR'] == 0
    # All: 3 people (h >= 20, vis >= 0.2), 2 found before the false positive
    assert metrics['All_MR'] == pytest.approx(100 / 3, abs=1e-3)
    # Heavy: only the half-visible person counts, never found
    assert metrics['Heavy_MR'] == 100.0
    assert osp.isfile(tmp_path / 'curves' / 'caltech_mr_fppi.png')
    rows = (tmp_path / 'dump' / 'set06' / 'V000.txt').read_text().splitlines()
    assert rows[0] == '30,100.00,100.00,41.00,100.00,0.9000'
    assert rows[-1].startswith('60,500.00')


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/dataset_converters'):
        CaltechMRMetric(str(tmp_path / 'missing.json'))
    ann = write_ann(tmp_path / 't.json', [dict(id=0, file_name='a.jpg',
                                               width=64, height=48)], [])
    with pytest.raises(ValueError, match='setups'):
        CaltechMRMetric(ann, setups=('Resonable', ))
    metric = CaltechMRMetric(ann, plot_curves=False)
    predict(metric, 7, [[0, 0, 10, 30, 1.0]])
    with pytest.raises(ValueError, match='not in'):
        metric.compute_metrics(metric.results)


@pytest.mark.parametrize('content', [
    'not json at all',
    json.dumps([1, 2]),
    json.dumps(dict(images=[dict(id=0, file_name='a.jpg', width=64,
                                 height=48)],
                    annotations=[dict(id=1, image_id=0, bbox=[0, 0, 5, 9],
                                      category_id=1)])),   # plain COCO
    json.dumps(dict(images=[dict(id=0, width=64, height=48)],
                    annotations=[dict(id=1, image_id=3, bbox=[0, 0, 5, 9],
                                      label='person')])),
])
def test_annotation_file_not_in_our_format(tmp_path, content):
    path = tmp_path / 'coco.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=r'is not a Caltech annotation file '
                       r'.*expected a JSON object with "images"'):
        CaltechMRMetric(str(path))


def test_annotation_file_with_a_repeated_image_id(tmp_path):
    images = [dict(id=0, file_name='a.jpg', width=64, height=48),
              dict(id=0, file_name='b.jpg', width=64, height=48)]
    ann = write_ann(tmp_path / 't.json', images, [])
    with pytest.raises(ValueError, match=r"1 image id\(s\) used by more than "
                       r"one image, e.g. id 0 by \['a.jpg', 'b.jpg'\]"):
        CaltechMRMetric(ann)


def test_degenerate_predictions_dropped_nan_refused(tmp_path):
    images = [dict(id=0, file_name='a.jpg', width=640, height=480)]
    objects = [dict(image_id=0, bbox=[100, 100, 41, 100], height=100,
                    label='person', visibility=1.0)]
    ann = write_ann(tmp_path / 't.json', images, objects)
    metric = CaltechMRMetric(ann, plot_curves=False, aspect_ratio=None)
    # a zero-width and a negative-height box (score above the true one) are
    # dropped; were they kept, the first would be a false positive
    predict(metric, 0, [[100, 100, 41, 100, 0.5], [300, 100, 0, 100, 0.9],
                        [300, 100, 41, -100, 0.8]])
    assert metric.num_dropped == 2 and len(metric.results[0][1]) == 1
    assert metric.compute_metrics(metric.results)['Reasonable_MR'] == 0
    assert metric.num_dropped == 0
    for bad in ([300, 100, float('nan'), 100, 0.9],
                [300, 100, 41, 100, float('nan')]):
        with pytest.raises(ValueError, match=r'predictions of image 0: row 2 '
                           r'.*NaN or inf'):
            predict(metric, 0, [[100, 100, 41, 100, 0.5],
                                [300, 100, 0, 100, 0.9], bad])


def test_iou_thr_is_checked(tmp_path):
    ann = write_ann(tmp_path / 't.json', [dict(id=0, file_name='a.jpg',
                                               width=64, height=48)], [])
    for bad in (-1, 0, 1, 1.5, '0.5', None, True):
        with pytest.raises(ValueError, match=r'iou_thr=.*between 0 and 1'):
            CaltechMRMetric(ann, iou_thr=bad)
    assert CaltechMRMetric(ann, iou_thr=0.7, plot_curves=False).iou_thr == 0.7


def test_an_image_predicted_twice_is_refused(tmp_path):
    images = [dict(id=i, file_name=f'{i}.jpg', width=640, height=480)
              for i in range(2)]
    objects = [dict(image_id=0, bbox=[100, 100, 41, 100], height=100,
                    label='person', visibility=1.0)]
    ann = write_ann(tmp_path / 't.json', images, objects)
    metric = CaltechMRMetric(ann, plot_curves=False)
    predict(metric, 0, [[100, 100, 41, 100, 0.9]])
    predict(metric, 1, [])
    predict(metric, 0, [])          # the same image again, empty
    with pytest.raises(ValueError, match=r'1 image id\(s\) \(e.g. \[0\]\) '
                       'predicted more than once'):
        metric.compute_metrics(metric.results)


def test_images_without_predictions_are_counted_in_a_warning(tmp_path):
    images = [dict(id=i, file_name=f'{i}.jpg', width=640, height=480)
              for i in range(4)]
    objects = [dict(image_id=i, bbox=[100, 100, 41, 100], height=100,
                    label='person', visibility=1.0) for i in range(4)]
    ann = write_ann(tmp_path / 't.json', images, objects)
    metric = CaltechMRMetric(ann, plot_curves=False)
    for i in range(2):
        predict(metric, i, [[100, 100, 41, 100, 0.9]])
    with pytest.warns(UserWarning, match='2 of 4 images .* have no '
                      'prediction at all'):
        metrics = metric.compute_metrics(metric.results)
    assert metrics['Reasonable_MR'] == 50.0      # half the people missed
