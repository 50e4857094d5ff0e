"""tools/test.py reads CHECKPOINT with mmmimic's loader: refused when it does
not fit the model, described when damaged; a mimic config needs no teacher
checkpoint. In-process (no subprocess start-up), a few seconds each."""
import os.path as osp
import re
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils.cli import USER_ERROR_STATUS
from mmmimic.utils.safe_load import DamagedCheckpointError

from ..conftest import REPO_ROOT, TINY_CONFIG, tiny_data_options

TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
MIMIC_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_mimic_coco.py')


def model_checkpoint(config, path, drop=(), options=()):
    """An (untrained) checkpoint of ``config``'s model, as a runner saves it."""
    cfg = Config.fromfile(config)
    for option in options:
        key, value = option.split('=', 1)
        cfg.merge_from_dict({key: value})
    with DefaultScope.overwrite_default_scope('mmmimic'):
        model = MODELS.build(cfg.model)
    state = {k: v for k, v in model.state_dict().items()
             if not k.startswith(drop)}
    torch.save(dict(state_dict=state, meta=dict(iter=1)), path)
    return str(path)


def run_test(monkeypatch, args):
    """``tools/test.py ARGS`` in this process; MMEngine's global instances
    of the run (its visualizer, bound to its work dir) dropped after it, as
    its process would drop them."""
    from ..conftest import restore_instances, snapshot_instances
    before = snapshot_instances()
    monkeypatch.setattr(sys, 'argv', [TEST] + args)
    try:
        runpy.run_path(TEST, run_name='__main__')
    finally:
        restore_instances(before)


def refused(monkeypatch, capsys, args, pattern):
    """``tools/test.py ARGS`` exits with the user-error status and prints one
    line ``test.py: ...`` matching ``pattern`` (no traceback)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_test(monkeypatch, args)
    assert exit_info.value.code == USER_ERROR_STATUS
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith('test.py: ')]
    assert len(lines) == 1 and re.search(pattern, lines[0]), err[-2000:]
    assert 'Traceback' not in err


def test_mimic_config_tests_without_teacher_checkpoint(tiny_coco, tmp_path,
                                                       monkeypatch, capsys):
    missing = str(tmp_path / 'no_teacher.pth')
    ckpt = model_checkpoint(MIMIC_CONFIG, tmp_path / 'mimic.pth',
                            options=[f'model.teacher_ckpt={missing}'])
    run_test(monkeypatch, [MIMIC_CONFIG, ckpt, '--work-dir',
                           str(tmp_path / 'w'), '--cfg-options',
                           f'model.teacher_ckpt={missing}'] +
             tiny_data_options(tiny_coco))
    out = capsys.readouterr()
    assert 'coco/bbox_mAP' in out.out + out.err
    assert not osp.exists(missing)


def test_checkpoint_of_another_model_is_refused(tiny_coco, tmp_path,
                                                monkeypatch, capsys):
    """The mimic run's student (half width) tested with the teacher's config:
    MMEngine would load nothing of the reshaped layers and print a metric."""
    ckpt = model_checkpoint(MIMIC_CONFIG, tmp_path / 'mimic.pth')
    refused(monkeypatch, capsys, [TINY_CONFIG, ckpt, '--work-dir',
                                  str(tmp_path / 'w')] +
            ['--cfg-options'] + tiny_data_options(tiny_coco),
            r"CHECKPOINT='.*mimic.pth' is a checkpoint of "
            r'another model:.*with another shape.*--allow-mismatch')
    assert not (tmp_path / 'w' / 'results.pkl').exists()


def test_missing_keys_refused_unexpected_keys_allowed(tiny_coco, tmp_path,
                                                      monkeypatch, capsys):
    partial = model_checkpoint(TINY_CONFIG, tmp_path / 'partial.pth',
                               drop=('roi_head', ))
    options = ['--cfg-options'] + tiny_data_options(tiny_coco)
    refused(monkeypatch, capsys, [TINY_CONFIG, partial, '--work-dir',
                                  str(tmp_path / 'w')] + options,
            r'missing from the file.*roi_head')
    # --allow-mismatch: MMEngine's non-strict loading, with a warning
    run_test(monkeypatch, [TINY_CONFIG, partial, '--work-dir',
                           str(tmp_path / 'w'), '--allow-mismatch'] + options)
    out = capsys.readouterr()
    assert 'loading what fits' in out.out + out.err
    # a mimic checkpoint tested with its student's plain config: the extra
    # adapter keys are reported and ignored
    student = Config.fromfile(MIMIC_CONFIG)
    student.model = {k: v for k, v in student.model.items() if k not in (
        'teacher_config', 'teacher_ckpt', 'mimic_adapter', 'mimic_sampler',
        'mimic_loss')}
    student.model['type'] = 'mmdet.FasterRCNN'
    student_cfg = str(tmp_path / 'student.py')
    student.dump(student_cfg)
    ckpt = model_checkpoint(MIMIC_CONFIG, tmp_path / 'mimic.pth')
    run_test(monkeypatch, [student_cfg, ckpt, '--work-dir',
                           str(tmp_path / 'w2')] + options)
    out = capsys.readouterr()
    assert 'are not in the model and are ignored' in out.out + out.err
    assert 'coco/bbox_mAP' in out.out + out.err


def test_damaged_checkpoint_is_described(tiny_coco, tmp_path, monkeypatch,
                                        capsys):
    good = model_checkpoint(TINY_CONFIG, tmp_path / 'good.pth')
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(open(good, 'rb').read()[:1000])
    refused(monkeypatch, capsys, [TINY_CONFIG, str(cut), '--work-dir',
                                  str(tmp_path / 'w'), '--cfg-options'] +
            tiny_data_options(tiny_coco),
            r"CHECKPOINT='.*cut.pth': not a readable "
            r'checkpoint: a truncated or damaged zip')
    # with --debug the error keeps its type and traceback
    with pytest.raises(DamagedCheckpointError):
        run_test(monkeypatch, [TINY_CONFIG, str(cut), '--debug', '--work-dir',
                               str(tmp_path / 'w'), '--cfg-options'] +
                 tiny_data_options(tiny_coco))
