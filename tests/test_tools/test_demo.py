"""The demo pipeline end to end (--quick), and the demo configs through the
tools and through mim from another directory."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.slow
DEMO = osp.join(REPO_ROOT, 'tools', 'run_demo.py')
CONFIGS = osp.join(REPO_ROOT, 'configs', 'demo')
MIMIC = osp.join(CONFIGS, 'mimic_faster-rcnn_r18-c3-w8-w16_demo-caltech.py')
TEACHER = osp.join(CONFIGS, 'faster-rcnn_r18-c3-w16_demo-caltech.py')


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    work, data = root / 'work', root / 'data'
    proc = subprocess.run(
        [sys.executable, DEMO, '--quick', '--work-dir', str(work), '--data-dir',
         str(data)], capture_output=True, text=True, cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, data, proc.stdout


def test_quick_demo_prints_table_and_writes_png(quick_demo):
    work, _, stdout = quick_demo
    assert '| model | params (M) | GFLOPs | CPU ms / image |' in stdout
    for name in ('teacher (w16)', 'student alone (w8)', 'student + mimic (w8)'):
        assert name in stdout
    assert osp.getsize(work / 'mr_fppi_demo.png') > 5000
    results = json.load(open(work / 'results.json'))
    teacher, student = results['teacher (w16)'], results['student alone (w8)']
    assert student['params'] < 0.6 * teacher['params']
    assert student['gflops'] < 0.5 * teacher['gflops']
    assert all(0 <= r['mr'] <= 100 for r in results.values())


def options(data):
    root = str(data) + '/'
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={root}annotations/test-3x.json',
            f'test_evaluator.ann_file={root}annotations/test-3x.json']


def test_mimic_config_through_tools_and_mim(quick_demo, tmp_path):
    work, data, _ = quick_demo
    teacher_ckpt = str(work / 'teacher' / 'iter_8.pth')
    opts = options(data) + [f'model.teacher_ckpt={teacher_ckpt}',
                            'train_cfg.max_iters=3', 'train_cfg.val_interval=10',
                            'default_hooks.logger.interval=1']
    for launcher, args in (
            ('tools', [osp.join(REPO_ROOT, 'tools', 'train.py'), MIMIC]),
            ('mim', ['-m', 'mim', 'train', 'mmmimic', MIMIC])):
        run_dir = tmp_path / launcher
        proc = subprocess.run(
            [sys.executable] + args + ['--work-dir', str(run_dir)] + opts,
            capture_output=True, text=True, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert 'loss_mimic' in proc.stdout + proc.stderr
        ckpt = str(run_dir / 'iter_3.pth')
        test = [osp.join(REPO_ROOT, 'tools', 'test.py'), MIMIC, ckpt] \
            if launcher == 'tools' else \
            ['-m', 'mim', 'test', 'mmmimic', MIMIC, '--checkpoint', ckpt]
        proc = subprocess.run(
            [sys.executable] + test + ['--work-dir', str(run_dir / 'test')] +
            options(data) + [f'model.teacher_ckpt={teacher_ckpt}'],
            capture_output=True, text=True, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert 'caltech/Reasonable_MR' in proc.stdout + proc.stderr
