"""tools/train.py and tools/test.py end to end on the tiny generated dataset."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from mmmimic.utils.cli import USER_ERROR_STATUS

from ..conftest import (
    REPO_ROOT,
    TINY_CONFIG,
    run_tool_in_process,
    tiny_data_options,
)

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')

pytestmark = pytest.mark.slow


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args, cwd=cwd,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.device
def test_train_then_resume_then_test(tiny_coco, tmp_path):
    work_dir = tmp_path / 'work'
    options = ['--cfg-options'] + tiny_data_options(tiny_coco)
    # stop after 3 iterations (checkpoint at 3), as if interrupted
    run([TRAIN, TINY_CONFIG, '--work-dir', str(work_dir)] + options +
        ['train_cfg.max_iters=3'], cwd=str(tmp_path))
    first = work_dir / 'iter_3.pth'
    assert first.is_file()

    # --resume without a path finds iter_3.pth; torch>=2.6 loads it with
    # weights_only=True (message hub, numpy scalars) thanks to mmmimic
    log = run([TRAIN, TINY_CONFIG, '--work-dir', str(work_dir), '--resume'] +
              options, cwd=str(tmp_path))
    assert 'resumed epoch: 0, iter: 3' in log
    final = torch.load(str(work_dir / 'iter_6.pth'), map_location='cpu')
    assert final['meta']['iter'] == 6
    assert final['message_hub']['log_scalars']['train/loss'].current() > 0

    out = tmp_path / 'results.pkl'
    log = run([TEST, TINY_CONFIG, str(work_dir / 'iter_6.pth'), '--work-dir',
               str(tmp_path / 'test'), '--out', str(out)] + options,
              cwd=str(tmp_path))
    assert 'coco/bbox_mAP' in log
    assert out.is_file()


def test_test_rejects_bad_out_suffix(tiny_coco, tmp_path):
    proc = run_tool_in_process(
        [TEST, TINY_CONFIG, 'missing.pth', '--out', 'r.json'],
        cwd=str(tmp_path))
    assert proc.returncode != 0
    assert '--out r.json: the dump file must end in .pkl' in proc.stderr


def test_resume_without_a_checkpoint_is_refused_before_training(tmp_path):
    # MMEngine would train from scratch, logging "resumed from None"
    empty = tmp_path / 'empty'
    empty.mkdir()
    for resume, message in (
            (['--resume'], r'--resume: no checkpoint to resume in .*empty '
             r"\(it has no last_checkpoint file\)"),
            (['--resume', str(tmp_path / 'missing.pth')],
             r'--resume .*missing.pth: no such file')):
        proc = run_tool_in_process(
            [TRAIN, TINY_CONFIG, '--work-dir', str(empty)] + resume,
            cwd=str(tmp_path))
        assert proc.returncode != 0
        assert 'Traceback' not in proc.stderr
        assert re.search(message, proc.stderr.splitlines()[-1]), proc.stderr
    assert list(empty.iterdir()) == []


class CreatesAFile:
    """Unpickling this creates ``marker`` (code a checkpoint may carry)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        import pathlib
        return (pathlib.Path.touch, (pathlib.Path(self.marker), ))


def refused(args, cwd, message):
    """train.py with ``args`` fails, its last line matching ``message``."""
    proc = run_tool_in_process([TRAIN] + args, cwd=str(cwd))
    assert proc.returncode == USER_ERROR_STATUS, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert re.search(message, last), proc.stderr[-3000:]


def test_resume_and_load_from_go_through_the_safe_loader(tiny_coco,
                                                         tmp_path):
    options = ['--cfg-options'] + tiny_data_options(tiny_coco) + [
        'train_cfg.max_iters=2', 'train_cfg.val_interval=10']
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=dict(iter=1, x=CreatesAFile(marker)),
                    optimizer={}), evil)
    work = str(tmp_path / 'work')
    refused(['--work-dir', work, TINY_CONFIG, '--resume', str(evil)] + options,
            tmp_path, r"^train.py: --resume='.*evil.pth': "
            'refused to load')
    refused(['--work-dir', work, TINY_CONFIG] + options +
            [f'load_from={evil}'], tmp_path,
            r"^train.py: load_from='.*evil.pth': refused to load")
    assert not marker.exists()
    # weights only: no training state to resume
    weights = tmp_path / 'weights.pth'
    torch.save(dict(state_dict={'x': torch.zeros(1)}), weights)
    refused(['--work-dir', work, TINY_CONFIG, '--resume', str(weights)] +
            options, tmp_path, r'is not a training checkpoint .* '
            r'load_from=.*weights.pth without --resume')
    # another model's checkpoint
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'x': torch.zeros(1)}, meta=dict(iter=1),
                    optimizer={}), other)
    refused(['--work-dir', work, TINY_CONFIG] + options +
            [f'load_from={other}'], tmp_path,
            r"^train.py: load_from='.*other.pth' is a "
            'checkpoint of another model')
    # a training checkpoint cut short (a copy interrupted, a full disk)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(other.read_bytes()[:-200])
    refused(['--work-dir', work, TINY_CONFIG, '--resume', str(cut)] + options,
            tmp_path, r"^train.py: --resume='.*cut.pth': not a "
            'readable checkpoint')


@pytest.mark.parametrize('args, message', [
    (['--cfg-options', 'train_cfg.max_iters'],
     r"--cfg-options 'train_cfg.max_iters': each option is KEY=VALUE"),
    (['--cfg-options', 'train_cfg.max_iters=abc'],
     r'--cfg-options train_cfg.max_iters=abc: the config holds a number '
     r'there \(\d+\); give a number'),
    (['--work-dir', '/proc/version/run'],
     r'work dir /proc/version/run: cannot write there .* pass --work-dir'),
])
def test_option_and_work_dir_mistakes_are_one_line(tmp_path, args, message):
    for tool in (TRAIN, TEST):
        extra = [] if tool == TRAIN else ['missing.pth']
        proc = run_tool_in_process([tool, TINY_CONFIG] + extra + args,
                                   cwd=str(tmp_path))
        assert proc.returncode != 0
        assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
        assert re.search(message, proc.stderr.strip().splitlines()[-1]), \
            proc.stderr[-1000:]


def test_a_config_that_cannot_be_read_is_one_line(tmp_path):
    (tmp_path / 'broken.py').write_text('model = dict(type=\n')
    for config, message in (('missing.py', 'CONFIG missing.py: no such file'),
                            ('broken.py', 'CONFIG broken.py: Python syntax '
                             'error in broken.py, line 1')):
        for tool in (TRAIN, TEST):
            extra = [] if tool == TRAIN else ['missing.pth']
            proc = run_tool_in_process([tool, config] + extra,
                                       cwd=str(tmp_path))
            assert proc.returncode == 2
            assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
            assert proc.stderr.strip().splitlines()[-1].startswith(
                f'{osp.basename(tool)}: {message}'), proc.stderr[-2000:]
