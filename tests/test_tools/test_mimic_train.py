"""Train a teacher, mimic it, resume the mimic run, test the student: tools only."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from ..conftest import (
    REPO_ROOT,
    TINY_CONFIG,
    env_with_pythonpath,
    run_tool_in_process,
    tiny_data_options,
)

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
MIMIC_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_mimic_coco.py')
INTERRUPTED_CONFIG = osp.join(REPO_ROOT, 'tests', 'data',
                              'tiny_mimic_coco_interrupted.py')

pytestmark = [pytest.mark.slow, pytest.mark.device]


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args, cwd=cwd,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_teacher_then_mimic_then_resume_then_test(tiny_coco, tmp_path):
    data = tiny_data_options(tiny_coco)
    run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 'teacher'),
         '--cfg-options'] + data, cwd=str(tmp_path))
    teacher_ckpt = str(tmp_path / 'teacher' / 'iter_6.pth')

    mimic_dir = tmp_path / 'mimic'
    options = ['--cfg-options', f'model.teacher_ckpt={teacher_ckpt}'] + data
    log = run([TRAIN, MIMIC_CONFIG, '--work-dir', str(mimic_dir)] + options +
              ['train_cfg.max_iters=3'], cwd=str(tmp_path))
    assert 'loss_mimic:' in log
    saved = torch.load(str(mimic_dir / 'iter_3.pth'), map_location='cpu')
    assert not any(k.startswith('teacher') for k in saved['state_dict'])
    assert any(k.startswith('mimic_adapter') for k in saved['state_dict'])

    # the resumed run rebuilds the teacher from teacher_ckpt
    log = run([TRAIN, MIMIC_CONFIG, '--work-dir', str(mimic_dir), '--resume'] +
              options, cwd=str(tmp_path))
    assert 'resumed epoch: 0, iter: 3' in log
    assert f'teacher weights loaded from {teacher_ckpt}' in log
    assert (mimic_dir / 'iter_6.pth').is_file()

    log = run([TEST, MIMIC_CONFIG, str(mimic_dir / 'iter_6.pth'), '--work-dir',
               str(tmp_path / 'test')] + options, cwd=str(tmp_path))
    assert 'coco/bbox_mAP' in log


def test_mimic_without_teacher_checkpoint_file_fails_early(tiny_coco, tmp_path):
    proc = run_tool_in_process(
        [TRAIN, MIMIC_CONFIG, '--work-dir', str(tmp_path / 'w'),
         '--cfg-options', 'model.teacher_ckpt=work_dirs/teacher/missing.pth'] +
        tiny_data_options(tiny_coco), cwd=str(tmp_path))
    assert proc.returncode != 0
    assert "teacher_ckpt='work_dirs/teacher/missing.pth': no such file" in \
        proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr


def test_mimic_with_amp(tiny_coco, tmp_path):
    """--amp: bf16 autocast on CPU, fp16 with loss scaling where CUDA is."""
    data = tiny_data_options(tiny_coco)
    run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 't'),
         '--cfg-options', 'train_cfg.max_iters=1'] + data, cwd=str(tmp_path))
    teacher = str(tmp_path / 't' / 'iter_1.pth')
    log = run([TRAIN, MIMIC_CONFIG, '--amp', '--work-dir', str(tmp_path / 'm'),
               '--cfg-options', f'model.teacher_ckpt={teacher}',
               'train_cfg.max_iters=2'] + data, cwd=str(tmp_path))
    assert 'loss_mimic:' in log
    saved = torch.load(str(tmp_path / 'm' / 'iter_2.pth'), map_location='cpu')
    assert 'loss_scaler' in saved['optimizer']


def test_resumed_run_equals_the_uninterrupted_run(tiny_coco, tmp_path):
    """Deterministic run, no random augmentation: stopping (Ctrl-C) after
    iteration 3 and resuming gives the weights of the run that never stopped
    (the teacher is reloaded from teacher_ckpt, RNGStateHook restores the
    samplers' random state, MMEngine the iteration, optimizer, schedule and
    data position). On CPU the two are equal to 1e-6; on a GPU, where mmcv's
    RoIAlign backward adds with atomics, to four times what a second
    uninterrupted run differs by (at least 1e-6)."""
    data = tiny_data_options(tiny_coco)
    run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 't'),
         '--cfg-options', 'train_cfg.max_iters=1'] + data, cwd=str(tmp_path))
    options = ['--cfg-options',
               f'model.teacher_ckpt={tmp_path / "t" / "iter_1.pth"}'] + data
    whole, parts = tmp_path / 'whole', tmp_path / 'parts'
    run([TRAIN, MIMIC_CONFIG, '--work-dir', str(whole)] + options,
        cwd=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, TRAIN, INTERRUPTED_CONFIG, '--work-dir', str(parts)] +
        options, cwd=str(tmp_path), capture_output=True, text=True,
        env=env_with_pythonpath(osp.join(REPO_ROOT, 'tests', 'data')))
    assert proc.returncode != 0 and 'interrupted after iteration 3' in \
        proc.stderr, proc.stderr[-3000:]
    assert (parts / 'iter_3.pth').is_file()
    assert not (parts / 'iter_6.pth').exists()
    log = run([TRAIN, MIMIC_CONFIG, '--work-dir', str(parts), '--resume'] +
              options, cwd=str(tmp_path))
    assert 'resumed epoch: 0, iter: 3' in log
    assert 'random generator states restored' in log
    a = torch.load(str(whole / 'iter_6.pth'), map_location='cpu')
    b = torch.load(str(parts / 'iter_6.pth'), map_location='cpu')
    assert a['state_dict'].keys() == b['state_dict'].keys()
    tolerance = dict.fromkeys(a['state_dict'], 1e-6)
    if torch.cuda.is_available():   # tools/train.py trained on the GPU
        again = tmp_path / 'again'
        run([TRAIN, MIMIC_CONFIG, '--work-dir', str(again)] + options,
            cwd=str(tmp_path))
        c = torch.load(str(again / 'iter_6.pth'), map_location='cpu')
        for key, value in a['state_dict'].items():
            if value.is_floating_point():
                spread = (value - c['state_dict'][key]).abs().max().item()
                tolerance[key] = max(1e-6, 4 * spread)
    for key, value in a['state_dict'].items():
        other = b['state_dict'][key]
        if value.is_floating_point():
            diff = (value - other).abs().max().item()
            assert diff <= tolerance[key], \
                f'{key}: resumed differs by {diff:.3g} (allowed {tolerance[key]:.3g})'
        else:
            assert torch.equal(value, other), key
    lr = [g['lr'] for g in a['optimizer']['param_groups']]
    assert lr == [g['lr'] for g in b['optimizer']['param_groups']]
