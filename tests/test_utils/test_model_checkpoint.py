"""Checkpoints against the model they are meant for."""
import pytest
import torch
import torch.nn as nn

from mmmimic.utils.model_checkpoint import (
    _target_model,
    check_checkpoint_matches,
    checkpoint_state_dict,
    compare_state_dict,
    load_checked_weights,
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


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_weights_are_refused_naming_the_tensor(value):
    from mmmimic.utils.safe_load import DamagedCheckpointError
    state = dict(net(4).state_dict())
    state['1.running_var'] = state['1.running_var'].clone()
    state['1.running_var'][2] = value
    with pytest.raises(DamagedCheckpointError,
                       match=r"X='t.pth': 1.running_var holds 1 NaN or inf "
                       r'value\(s\) of 4'):
        check_checkpoint_matches(net(4), state, "X='t.pth'")


def test_a_teacher_with_nan_weights_is_refused_before_training(
        tiny_teacher_ckpt, tmp_path):
    # a diverged teacher would train a student whose every weight is NaN
    from mmmimic.models.distillers.teacher import (
        build_teacher,
        load_teacher_checkpoint,
    )
    from mmmimic.utils.safe_load import DamagedCheckpointError

    from ..test_models._tiny import tiny_detector
    path, state = tiny_teacher_ckpt
    state = {k: v.clone() for k, v in state.items()}
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key].view(-1)[0] = float('nan')
    bad = tmp_path / 'diverged.pth'
    torch.save(dict(state_dict=state, meta=dict(iter=1)), bad)
    teacher = build_teacher(dict(model=tiny_detector(16)))
    with pytest.raises(DamagedCheckpointError,
                       match=f'model.teacher_ckpt=.*diverged.pth.*{key} '
                       'holds 1 NaN'):
        load_teacher_checkpoint(teacher, str(bad))


def test_load_checked_weights_allows_only_the_optional_keys_to_be_absent(
        tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    torch.manual_seed(0)
    saved = nn.Sequential(nn.Linear(2, 2))   # only the first layer's keys
    path = tmp_path / 'part.pth'
    torch.save(dict(state_dict=saved.state_dict()), path)
    kept = model[1].weight.detach().clone()
    load_checked_weights(model, str(path), optional_prefixes=('1.', ))
    assert torch.equal(model[0].weight, saved[0].weight)
    assert torch.equal(model[1].weight, kept)
    with pytest.raises(CheckpointMismatchError,
                       match=r"CHECKPOINT='.*part.pth' is a checkpoint of "
                       r'another model: 2 key\(s\) of the model missing'):
        load_checked_weights(model, str(path))
