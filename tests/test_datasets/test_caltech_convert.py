"""The Caltech converter on a small generated raw folder (seq + vbb)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmmimic.datasets.caltech.convert import (
    frame_indices,
    read_bbgt_txt,
    split_file_name,
)
from mmmimic.datasets.caltech.io import VbbAnnotation, VbbObject, write_seq, write_vbb
from mmmimic.datasets.caltech.positives import visibility_ratio

from ..conftest import REPO_ROOT, run_tool_in_process

TOOL = osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'caltech.py')
NUM_FRAMES = 65          # test frames 29, 59; train-10x frames 2, 5, ..., 62


def obj(oid, label, pos, posv=(0, 0, 0, 0), occl=False):
    return VbbObject(oid, label, np.array(pos, float), np.array(posv, float),
                     occl)


def make_raw(root, sets=('set00', 'set06')):
    """One 65-frame 64x48 video per set; objects in frames 29 and 59."""
    labels = ['person', 'person', 'people', 'person-fa', 'person', 'person?']
    frames = []
    for i in range(NUM_FRAMES):
        objects = []
        if i in (2, 29):
            objects = [
                obj(1, 'person', [10, 5, 20, 60]),                 # positive
                obj(2, 'person', [40, 5, 10, 30]),                 # too small
                obj(3, 'people', [0, 0, 30, 70]),                  # ignore
                obj(4, 'person-fa', [5, 5, 5, 5]),                 # dropped
                obj(5, 'person', [30, 0, 25, 60], [30, 0, 25, 30], True),
                obj(6, 'person?', [50, 0, 10, 55]),                # ignore
            ]
        frames.append(objects)
    rng = np.random.default_rng(0)
    jpegs = {}
    for set_name in sets:
        os.makedirs(osp.join(root, set_name))
        os.makedirs(osp.join(root, 'annotations', set_name))
        data = [cv2.imencode('.jpg', rng.integers(0, 255, (48, 64, 3),
                                                  dtype=np.uint8))[1].tobytes()
                for _ in range(NUM_FRAMES)]
        jpegs[set_name] = data
        write_seq(osp.join(root, set_name, 'V000.seq'), data, 64, 48)
        write_vbb(osp.join(root, 'annotations', set_name, 'V000.vbb'),
                  VbbAnnotation(NUM_FRAMES, labels, frames))
    return jpegs


def convert(raw, out, *extra):
    # the tool as run_tool ends it, in this process (no imports paid again)
    return run_tool_in_process([TOOL, raw, out, *extra], cwd=os.getcwd())


def test_rules():
    assert frame_indices(65, 30) == [29, 59]
    assert frame_indices(10, 3) == [2, 5, 8]
    assert split_file_name('train', 3) == 'train-10x.json'
    assert split_file_name('test', 30) == 'test.json'
    assert visibility_ratio([0, 0, 10, 20], [0, 0, 10, 10], True) == 0.5
    assert visibility_ratio([0, 0, 10, 20], [0, 0, 0, 0], True) == 0.0
    assert visibility_ratio([0, 0, 10, 20], [0, 0, 0, 0], False) == 1.0


def test_convert_benchmark_frames_ignore_and_visibility(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    jpegs = make_raw(raw)
    proc = convert(raw, out, '--train-skip', '3', '--workers', '2')
    assert proc.returncode == 0, proc.stderr[-2000:]

    test = json.load(open(osp.join(out, 'annotations', 'test.json')))
    assert [im['file_name'] for im in test['images']] == [
        'set06_V000_I00029.jpg', 'set06_V000_I00059.jpg']
    with open(osp.join(out, 'images', 'set06_V000_I00029.jpg'), 'rb') as f:
        assert f.read() == jpegs['set06'][29]       # original bytes
    anns = test['annotations']
    assert {a['image_id'] for a in anns} == {0}     # frame 59 has none
    by_x = {a['bbox'][0]: a for a in anns}
    assert len(anns) == 5                           # person-fa dropped
    assert by_x[10]['label'] == 'person' and by_x[10]['iscrowd'] == 0
    assert by_x[10]['height'] == 60 and by_x[10]['visibility'] == 1.0
    assert by_x[40]['iscrowd'] == 1                  # under 50 pixels
    assert by_x[0]['label'] == 'people' and by_x[0]['iscrowd'] == 1
    assert by_x[50]['label'] == 'person?' and by_x[50]['iscrowd'] == 1
    occluded = by_x[30]
    assert occluded['occluded'] == 1
    assert occluded['visibility'] == 0.5 and occluded['iscrowd'] == 1
    assert occluded['vbbox'] == [30, 0, 25, 30]

    train = json.load(open(osp.join(out, 'annotations', 'train-10x.json')))
    names = [im['file_name'] for im in train['images']]
    assert names[:3] == ['set00_V000_I00002.jpg', 'set00_V000_I00005.jpg',
                         'set00_V000_I00008.jpg']
    assert len(names) == len(range(2, NUM_FRAMES, 3))
    assert not [n for n in os.listdir(osp.join(out, 'images'))
                if n.startswith('.tmp')]


def test_resumes_without_rewriting(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    assert convert(raw, out, '--splits', 'test').returncode == 0
    image = osp.join(out, 'images', 'set06_V000_I00029.jpg')
    os.utime(image, (1, 1))
    assert convert(raw, out, '--splits', 'test').returncode == 0
    assert os.stat(image).st_mtime == 1


def test_changed_source_converted_again(tmp_path):
    """Resume is keyed on the source: after the .seq changes, its frames are
    written again and frames it no longer has are removed."""
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    assert convert(raw, out, '--splits', 'test').returncode == 0
    manifest = json.load(open(osp.join(out, 'convert_manifest.json')))
    seq = osp.join(raw, 'set06', 'V000.seq')
    assert manifest['set06/V000'] == [os.stat(seq).st_size,
                                      os.stat(seq).st_mtime_ns]
    # the fixed source: other pictures, and only 40 frames (no frame 59)
    rng = np.random.default_rng(1)
    fixed = [cv2.imencode('.jpg', rng.integers(0, 255, (48, 64, 3),
                                               dtype=np.uint8))[1].tobytes()
             for _ in range(40)]
    write_seq(seq, fixed, 64, 48)
    vbb = osp.join(raw, 'annotations', 'set06', 'V000.vbb')
    write_vbb(vbb, VbbAnnotation(40, ['person'], [[] for _ in range(40)]))
    proc = convert(raw, out, '--splits', 'test')
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(osp.join(out, 'images', 'set06_V000_I00029.jpg'), 'rb') as f:
        assert f.read() == fixed[29]
    assert not osp.exists(osp.join(out, 'images', 'set06_V000_I00059.jpg'))
    test = json.load(open(osp.join(out, 'annotations', 'test.json')))
    assert [im['file_name'] for im in test['images']] == [
        'set06_V000_I00029.jpg']


def test_vbb_of_another_length_refused(tmp_path):
    """A .vbb must annotate exactly the video's frames, in both directions."""
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    vbb = osp.join(raw, 'annotations', 'set06', 'V000.vbb')
    for frames in (NUM_FRAMES - 5, NUM_FRAMES + 5):
        write_vbb(vbb, VbbAnnotation(frames, ['person'],
                                     [[] for _ in range(frames)]))
        proc = convert(raw, out, '--splits', 'test')
        assert proc.returncode != 0
        # one line naming the file, not a traceback
        assert 'Traceback' not in proc.stderr
        assert len([line for line in proc.stderr.splitlines()
                    if 'V000.vbb' in line]) == 1
        assert (f'V000.vbb: annotates {frames} frames but set06/V000.seq has '
                f'{NUM_FRAMES}') in proc.stderr
        assert not osp.exists(osp.join(out, 'annotations', 'test.json'))


def test_broken_video_leaves_no_json_and_names_the_file(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    seq = osp.join(raw, 'set06', 'V000.seq')
    data = open(seq, 'rb').read()
    with open(seq, 'wb') as f:
        f.write(data[:len(data) // 2])
    proc = convert(raw, out, '--splits', 'test')
    assert proc.returncode != 0
    assert 'V000.seq: frame' in proc.stderr
    assert not osp.exists(osp.join(out, 'annotations', 'test.json'))
    leftovers = [n for n in os.listdir(osp.join(out, 'images'))
                 if n.startswith('.tmp')]
    assert not leftovers


def test_missing_annotations_named(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    os.remove(osp.join(raw, 'annotations', 'set06', 'V000.vbb'))
    proc = convert(raw, out, '--splits', 'test')
    assert proc.returncode != 0
    assert 'annotations/set06/V000.vbb' in proc.stderr and '--ann-dir' in \
        proc.stderr


def test_new_annotations_text_files(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    new = tmp_path / 'new'
    new.mkdir()
    (new / 'set06_V000_I00029.jpg.txt').write_text(
        '% bbGt version=3\nperson 1 2 20 60 0 0 0 0 0 0 0\n'
        'ignore 30 0 20 40 0 0 0 0 0 0 0\n')
    (new / 'set06_V000_I00059.jpg.txt').write_text('% bbGt version=3\n')
    proc = convert(raw, out, '--splits', 'test', '--new-annotations', str(new))
    assert proc.returncode == 0, proc.stderr[-2000:]
    anns = json.load(open(osp.join(out, 'annotations', 'test.json')))[
        'annotations']
    assert [(a['label'], a['iscrowd']) for a in anns] == [('person', 0),
                                                         ('ignore', 1)]
    with pytest.raises(ValueError, match='expected'):
        (new / 'bad.txt').write_text('person 1 2\n')
        read_bbgt_txt(str(new / 'bad.txt'))


@pytest.mark.parametrize('flag, value', [('--test-skip', '-3'),
                                         ('--test-skip', '0'),
                                         ('--train-skip', '0'),
                                         ('--workers', '0')])
def test_counts_below_one_are_refused_before_any_work(tmp_path, flag, value):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    make_raw(raw, sets=('set06', ))
    proc = convert(raw, out, flag, value)
    assert proc.returncode == 2
    assert f'argument {flag}: {value} must be a whole number at least 1' \
        in proc.stderr
    assert not osp.exists(out)


def test_a_box_entirely_outside_the_image_is_left_out_and_named(tmp_path):
    """A .vbb box with no pixel in the frame was written as a positive, then
    dropped unseen by the dataset; the converter leaves it out and says so
    (boxes partly outside stay: the benchmark has them)."""
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    make_raw(str(raw), sets=('set06', ))
    frames = [[] for _ in range(NUM_FRAMES)]
    frames[29] = [obj(1, 'person', [10, 5, 20, 60]),
                  obj(2, 'person', [70, 5, 20, 60]),        # right of 64 px
                  obj(3, 'person', [-30, 0, 25, 60]),       # left of 0
                  obj(4, 'person', [50, 0, 30, 60])]        # partly inside
    write_vbb(str(raw / 'annotations' / 'set06' / 'V000.vbb'),
              VbbAnnotation(NUM_FRAMES, ['person'] * 4, frames))
    proc = convert(str(raw), str(out), '--splits', 'test')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ('set06/V000: 2 box(es) entirely outside the 64x48 image left '
            'out, e.g. frame 29 person [x y w h] = [70.0, 5.0, 20.0, 60.0]'
            ) in proc.stdout
    with open(out / 'annotations' / 'test.json') as f:
        boxes = [a['bbox'] for a in json.load(f)['annotations']]
    assert boxes == [[10, 5, 20, 60], [50, 0, 30, 60]]
    assert 'Reasonable pedestrians per image' in proc.stdout


def test_an_input_folder_as_out_dir_is_refused(tmp_path, monkeypatch):
    """OUT_DIR never among the files the conversion reads (checked in
    process: the same check runs first in the tool's main)."""
    import argparse

    from mmmimic.utils.cli import UsageError

    from ..conftest import tool_module
    tool = tool_module('dataset_converters', 'caltech.py')
    raw = tmp_path / 'raw'
    (raw / 'annotations').mkdir(parents=True)
    (tmp_path / 'new').mkdir()

    def args(out, **extra):
        return argparse.Namespace(raw_dir=str(raw), out_dir=str(out),
                                  **dict(dict(ann_dir=None,
                                              new_annotations=None), **extra))
    for out, extra, says in (
            (raw, {}, 'is the RAW_DIR folder'),
            (raw / 'annotations', {}, 'is the --ann-dir folder'),
            (raw / 'annotations' / 'x', {}, 'is in the --ann-dir folder'),
            (tmp_path / 'new', dict(new_annotations=str(tmp_path / 'new')),
             'is the --new-annotations folder')):
        with pytest.raises(UsageError, match=f'OUT_DIR {out}: {says}'):
            tool.check_out_dir(args(out, **extra))
    tool.check_out_dir(args(tmp_path / 'out'))
    tool.check_out_dir(args(raw / 'converted'))
