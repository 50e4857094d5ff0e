"""CaltechPedestrianDataset on converter output: ignore flags, empty images."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from mmmimic.datasets import CaltechPedestrianDataset

from .test_caltech_convert import TOOL, make_raw


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
