"""Checkpoints against the model they are meant for."""
import pytest
import torch
import torch.nn as nn

from mmmimic.utils.model_checkpoint import (
    _target_model,
    check_checkpoint_matches,
    checkpoint_state_dict,
    compare_state_dict,
)
from mmmimic.utils.safe_load import CheckpointMismatchError


def net(width=4):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width))


def test_ddp_prefix_removed_and_bare_state_dicts_accepted():
    state = {'module.0.weight': torch.zeros(1), 'head.module.x': 1}
    assert set(checkpoint_state_dict(dict(state_dict=state))) == {
        '0.weight', 'head.module.x'}
    assert set(checkpoint_state_dict(state)) == {'0.weight', 'head.module.x'}
    with pytest.raises(CheckpointMismatchError, match='holds a list'):
        checkpoint_state_dict(dict(state_dict=[1, 2]))


def test_differences_are_listed_a_few_at_a_time():
    own = net(4)
    state = dict(net(8).state_dict())
    del state['1.running_var']
    state['extra.weight'] = torch.zeros(1)
    diff = compare_state_dict(own, state)
    assert diff.missing == ['1.running_var']
    assert diff.unexpected == ['extra.weight']
    assert diff.mismatched[0] == ('0.weight: (8, 3, 3, 3) in the file, '
                                  '(4, 3, 3, 3) in the model')
    text = diff.summary(limit=2)
    assert '1 key(s) of the model missing from the file' in text
    assert '1 key(s) in the file unexpected by the model' in text
    assert '5 key(s) with another shape' in text
    assert 'and 3 more' in text


def test_check_refuses_and_names_the_file():
    with pytest.raises(CheckpointMismatchError,
                       match=r"X='a.pth' is a checkpoint of another model: .*"
                       r'another shape.*Fix it\.'):
        check_checkpoint_matches(net(4), net(8).state_dict(), "X='a.pth'",
                                 hint='Fix it.')
    state = dict(net(4).state_dict(), extra=torch.zeros(1))
    with pytest.raises(CheckpointMismatchError, match='unexpected.*extra'):
        check_checkpoint_matches(net(4), state, "X='a.pth'")
    diff = check_checkpoint_matches(net(4), state, "X='a.pth'",
                                    allow_unexpected=True)
    assert diff.unexpected == ['extra']


def test_wrappers_are_unwrapped_to_the_model_the_keys_address():
    from mmdet.models import DetTTAModel
    inner = net()
    inner.test_step = lambda data: data   # what BaseTTAModel asks for
    tta = DetTTAModel(module=inner)
    assert _target_model(tta) is inner
    assert _target_model(inner) is inner
