"""CaltechPedestrianDataset on converter output: ignore flags, empty images."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.registry import DefaultScope

from mmmimic.datasets import CaltechPedestrianDataset
from mmmimic.utils import register_all_modules

from .test_caltech_convert import TOOL, make_raw

# the pipeline's mmdet transforms, whatever ran before on this worker
register_all_modules(init_default_scope=False)


# its module fixture is made once: the module's tests on one pytest-xdist
# worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group('caltech_dataset')


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp('caltech')
    raw, out = str(root / 'raw'), str(root / 'out')
    make_raw(raw, sets=('set06', ))
    proc = subprocess.run([sys.executable, TOOL, raw, out, '--splits', 'test'],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def dataset(root, **kwargs):
    return CaltechPedestrianDataset(
        data_root=root, ann_file='annotations/test.json',
        data_prefix=dict(img='images/'), pipeline=[], **kwargs)


def test_ignore_flags_and_empty_images(converted):
    ds = dataset(converted)
    assert len(ds) == 2                       # frame 59 has no pedestrian: kept
    first, second = ds[0], ds[1]
    assert second['instances'] == []
    flags = {tuple(i['bbox']): i['ignore_flag'] for i in first['instances']}
    assert flags[(10, 5, 30, 65)] == 0        # the one positive
    assert sum(flags.values()) == 4           # small, people, occluded, person?
    assert ds.get_cat_ids(0) == [0]


def test_positive_rule_redecides(converted):
    ds = dataset(converted, positive_rule=dict(min_height=25,
                                               min_visibility=0.5))
    flags = {tuple(i['bbox']): i['ignore_flag'] for i in ds[0]['instances']}
    assert flags[(40, 5, 50, 35)] == 0        # 30 px tall person counts under this rule
    assert flags[(30, 0, 55, 60)] == 0        # half visible counts under this rule
    assert flags[(0, 0, 30, 70)] == 1         # 'people' stays ignored
    with pytest.raises(ValueError, match='positive_rule keys'):
        dataset(converted, positive_rule=dict(height=50))


def test_pipeline_delivers_ignored_instances(converted):
    # under a default scope of 'mmdet' (left by any Runner of an exported
    # student in the same worker), 'mmdet.LoadImageFromFile' is looked up in
    # mmdet's own registry only, where mmcv's transform is not: the scope
    # our configs are built in is set here
    with DefaultScope.overwrite_default_scope('mmmimic'):
        _pipeline_delivers_ignored_instances(converted)


def _pipeline_delivers_ignored_instances(converted):
    ds = CaltechPedestrianDataset(
        data_root=converted, ann_file='annotations/test.json',
        data_prefix=dict(img='images/'),
        pipeline=[dict(type='mmdet.LoadImageFromFile'),
                  dict(type='mmdet.LoadAnnotations', with_bbox=True),
                  dict(type='mmdet.PackDetInputs')])
    sample = ds[0]['data_samples']
    assert len(sample.gt_instances) == 1
    assert len(sample.ignored_instances) == 4


def test_repeated_image_ids_are_refused(converted, tmp_path):
    """COCO's index keeps one image per id silently; the dataset names the
    file, the id and the images instead."""
    with open(osp.join(converted, 'annotations', 'test.json')) as f:
        coco = json.load(f)
    coco['images'][1]['id'] = coco['images'][0]['id']
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'test.json').write_text(json.dumps(coco))
    names = [im['file_name'] for im in coco['images']]
    with pytest.raises(ValueError, match=(
            r'test.json: 1 image id\(s\) used by more than one image, e.g. id '
            rf"{coco['images'][0]['id']} by \['{names[0]}', '{names[1]}'\]; "
            'every image needs its own id')):
        dataset(str(tmp_path))


def test_a_split_without_images_is_refused(converted, tmp_path):
    # (MMEngine's serialisation would fail with "need at least one array to
    # concatenate", naming nothing)
    root = write_changed(converted, tmp_path,
                         lambda coco: coco.update(images=[], annotations=[]))
    with pytest.raises(ValueError, match=r'test.json: no images in it'):
        dataset(root)


def write_changed(converted, tmp_path, change) -> str:
    with open(osp.join(converted, 'annotations', 'test.json')) as f:
        coco = json.load(f)
    change(coco)
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'test.json').write_text(json.dumps(coco))
    return str(tmp_path)


def rename_category(coco):
    coco['categories'][0]['name'] = 'pedestrian'


def add_category(coco):
    coco['categories'].append(dict(id=2, name='car'))
    coco['annotations'][0]['category_id'] = 2


def unknown_category_id(coco):
    coco['annotations'][0]['category_id'] = 7


@pytest.mark.parametrize('change, message', [
    (rename_category, r"no category named \['person'\] \(its categories: "
     r"\['pedestrian'\]\)"),
    (add_category, r"has category_id 2 \(car\), not one of the classes "
     r"\['person'\]"),
    (unknown_category_id, r'has category_id 7 \(not a category\)'),
], ids=['category renamed', 'another category', 'unknown id'])
def test_labels_the_classes_do_not_know_are_refused(converted, tmp_path,
                                                    change, message):
    """Before: 0 of the file's instances loaded (a renamed category) or the
    unknown ones dropped, silently; now the file, annotation and classes are
    named."""
    root = write_changed(converted, tmp_path, change)
    with pytest.raises(ValueError, match='test.json: .*' + message):
        dataset(root)


def orphan_annotation(coco):
    coco['annotations'][0]['image_id'] = 10 ** 9


def non_finite_box(coco):
    coco['annotations'][0]['bbox'][2] = float('nan')


def negative_box(coco):
    coco['annotations'][0]['bbox'][3] = -20.0


def short_box(coco):
    coco['annotations'][0]['bbox'] = [1, 2, 3]


@pytest.mark.parametrize('change, message', [
    (orphan_annotation, r'image_id 1000000000 is not one of the file\'s '
     r'"images"; it would be left out silently'),
    (non_finite_box, r'bbox \[.*nan.*\] is not four finite numbers'),
    (negative_box, r'has a negative width or height'),
    (short_box, r'bbox \[1, 2, 3\] is not four finite numbers'),
], ids=['no such image', 'NaN', 'negative height', 'three numbers'])
def test_malformed_annotations_are_refused_by_every_reader(converted,
                                                           tmp_path, change,
                                                           message):
    """By class: the dataset and the metric read the same file and refuse
    the same annotations (pycocotools would leave an orphan out, a NaN or
    negative box would be read as a tiny one), naming it."""
    from mmmimic.evaluation import CaltechMRMetric
    root = write_changed(converted, tmp_path, change)
    with pytest.raises(ValueError, match='test.json: annotation .*' + message):
        dataset(root)
    with pytest.raises(ValueError, match='is not a Caltech annotation file '
                       r'\(ValueError: annotation .*' + message):
        CaltechMRMetric(osp.join(root, 'annotations', 'test.json'))


def test_boxes_left_out_are_counted_once(converted, tmp_path):
    import logging

    from mmengine.logging import MMLogger

    def outside(coco):
        coco['annotations'][0]['bbox'] = [5000, 5000, 10, 20]
    root = write_changed(converted, tmp_path, outside)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = dataset(root)
    finally:
        logger.removeHandler(handler)

    def count(data):
        return sum(len(data.get_data_info(i)['instances'])
                   for i in range(len(data)))
    assert count(ds) == count(dataset(converted)) - 1
    said = [r.getMessage() for r in records if 'box(es)' in r.getMessage()]
    assert len(said) == 1 and '1 box(es) smaller than a pixel or entirely ' \
        'outside their image left out' in said[0]
