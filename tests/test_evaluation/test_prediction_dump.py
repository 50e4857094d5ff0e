"""Class "no detection lost or invented in silence": a prediction dump is
checked where it enters (mmmimic.evaluation.load_predictions), every bad
variant refused naming the file, the image and the field; every tool that reads
a dump reads it through that check (one variant each, as a user runs it)."""
import copy
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from mmmimic.evaluation import (
    PredictionDumpError,
    check_predictions,
    load_predictions,
)
from mmmimic.utils.cli import USER_ERROR_STATUS

from ..conftest import REPO_ROOT, run_tool_in_process

TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')


def dump() -> list:
    """What tools/test.py --out writes: per image, tensors in plain dicts."""
    return [dict(img_id=i, img_path=f'{i}.jpg', pred_instances=dict(
        bboxes=torch.tensor([[10., 20., 50., 120.], [0., 0., 5., 9.]]),
        scores=torch.tensor([0.9, 0.2]), labels=torch.tensor([0, 0])))
        for i in range(3)]


def with_field(key: str, value) -> list:
    predictions = dump()
    predictions[1]['pred_instances'][key] = value
    return predictions


#: variant -> (the dump, what the one line must say)
BAD = {
    'not a list': ({'img_id': 0}, 'holds a dict, not the list'),
    'empty': ([], 'holds no image'),
    'an item that is not a dict': ([1, 2], 'item 0: not a dict'),
    'no pred_instances': ([dict(img_id=0)], 'not a dict with img_id'),
    'no labels': (
        [dict(img_id=0, pred_instances=dict(bboxes=torch.zeros(0, 4),
                                            scores=torch.zeros(0)))],
        'without labels'),
    'an image twice': (dump()[:2] + dump()[:1], 'also item 0'),
    'boxes of 5 numbers': (with_field('bboxes', torch.zeros(2, 5)),
                           'bboxes (2, 5)'),
    'fewer scores than boxes': (with_field('scores', torch.tensor([0.5])),
                                'with one N'),
    'a NaN box': (with_field('bboxes', torch.tensor(
        [[0., 0., float('nan'), 1.], [0., 0., 1., 1.]])), 'NaN or infinite'),
    'an infinite score': (with_field('scores', torch.tensor(
        [float('inf'), 0.5])), 'NaN or infinite'),
    'a reversed box': (with_field('bboxes', torch.tensor(
        [[50., 20., 10., 120.], [0., 0., 1., 1.]])), 'box 0 '),
    'a score above 1': (with_field('scores', torch.tensor([1.5, 0.5])),
                        'score outside [0, 1]'),
    'a negative label': (with_field('labels', torch.tensor([-1, 0])),
                         'not a whole number >= 0'),
    'a fractional label': (with_field('labels', np.array([0.5, 0.])),
                           'not a whole number >= 0'),
    'text for boxes': (with_field('bboxes', 'boxes'), 'are not numbers'),
}


def test_real_dumps_pass_with_tensors_or_arrays(tmp_path):
    assert len(check_predictions(dump(), 'd')) == 3
    as_numpy = [dict(p, pred_instances={k: v.numpy() for k, v in
                                        p['pred_instances'].items()})
                for p in dump()]
    check_predictions(as_numpy, 'd', num_classes=1)
    no_detections = copy.deepcopy(dump())
    no_detections[0]['pred_instances'] = dict(
        bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
        labels=torch.zeros(0, dtype=torch.long))
    check_predictions(no_detections, 'd')
    path = tmp_path / 'p.pkl'
    path.write_bytes(pickle.dumps(dump()))
    assert len(load_predictions(str(path))) == 3


@pytest.mark.parametrize('variant', sorted(BAD))
def test_a_bad_dump_is_refused_naming_it(variant, tmp_path):
    predictions, says = BAD[variant]
    path = tmp_path / 'bad.pkl'
    path.write_bytes(pickle.dumps(predictions))
    with pytest.raises(PredictionDumpError) as info:
        load_predictions(str(path), 'result file')
    message = str(info.value)
    assert message.startswith(f'result file {path}') and says in message, \
        message
    assert '\n' not in message


def test_labels_beyond_the_classes_are_refused():
    with pytest.raises(PredictionDumpError, match='label 3, but the dataset '
                       'has 2 class'):
        check_predictions(with_field('labels', torch.tensor([3, 0])), 'd',
                          num_classes=2)


def test_two_dumps_of_other_images_are_refused():
    from mmmimic.deployment.compare import compare_predictions
    with pytest.raises(PredictionDumpError, match='another order'):
        compare_predictions(dump(), dump()[::-1])
    with pytest.raises(PredictionDumpError, match=r'other images \(2 differ'):
        compare_predictions(dump()[:2], dump()[1:])


def run_demo_reader(path: str, tmp_path) -> str:
    from mmmimic.demo.data import reasonable
    with pytest.raises(PredictionDumpError) as info:
        reasonable(str(tmp_path), path)
    return str(info.value)


def tool_reader(*args):
    def read(path: str, tmp_path) -> str:
        argv = [a.replace('PKL', path) for a in args]
        proc = run_tool_in_process(argv, cwd=str(tmp_path))
        assert proc.returncode == USER_ERROR_STATUS, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and 'Traceback' not in proc.stderr, \
            proc.stderr[-2000:]
        return lines[0]
    return read


#: every reader of a prediction dump: name -> read(path, tmp_path) -> message
READERS = {
    'mmmimic.demo.data.reasonable (run_demo.py)': run_demo_reader,
    'compare_predictions.py': tool_reader(
        osp.join(TOOLS, 'compare_predictions.py'), 'PKL', 'PKL'),
    'plot_mr_curves.py': tool_reader(
        osp.join(TOOLS, 'plot_mr_curves.py'), 'ann.json', 'PKL', '--out',
        'x.png'),
}


@pytest.mark.parametrize('reader', sorted(READERS))
def test_every_reader_checks_the_dump(reader, tmp_path):
    predictions, says = BAD['a reversed box']
    path = tmp_path / 'reversed.pkl'
    path.write_bytes(pickle.dumps(predictions))
    message = READERS[reader](str(path), tmp_path)
    assert 'reversed.pkl, image 1' in message and says in message, message
    assert not (tmp_path / 'x.png').exists()
