"""The demo pipeline end to end (--quick), and the demo configs through the
tools and through mim from another directory."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT

# its module fixture is made once: the module's tests on one pytest-xdist
# worker (--dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('quick_demo')]
DEMO = osp.join(REPO_ROOT, 'tools', 'run_demo.py')
CONFIGS = osp.join(REPO_ROOT, 'configs', 'demo')
MIMIC = osp.join(CONFIGS,
                 'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py')
TEACHER_CKPT = osp.join(REPO_ROOT, 'checkpoints', 'demo',
                        'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.pth')


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    work, data = root / 'work', root / 'data'
    proc = subprocess.run(
        [sys.executable, DEMO, '--quick', '--seeds', '3', '5', '--work-dir',
         str(work), '--data-dir', str(data)], capture_output=True, text=True,
        cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, data, proc.stdout


def test_quick_demo_prints_table_and_writes_png(quick_demo):
    work, _, stdout = quick_demo
    assert ('| model | params (M) | GFLOPs | PyTorch ms | speed-up | '
            'ONNX Runtime ms | speed-up | MR-2 seed 0 | MR-2 seed 3 | '
            'MR-2 seed 5 | mean MR-2 |') in stdout
    assert 'SHA-256 checked, seed 0' in stdout
    assert 'mimic below the student alone at' in stdout
    assert osp.getsize(work / 'mr_fppi_demo.png') > 5000
    results = json.load(open(work / 'results.json'))
    assert results['seeds'] == [3, 5]
    models = results['models']
    assert sorted(models) == ['mimic', 'student', 'teacher']
    assert sorted(models['teacher']['mr']) == ['0']   # the shipped teacher
    assert sorted(models['student']['mr']) == sorted(models['mimic']['mr']) \
        == ['3', '5']
    teacher, student = models['teacher'], models['student']
    assert student['params_m'] < 0.6 * teacher['params_m']
    assert student['gflops'] < 0.5 * teacher['gflops']
    assert all(0 <= mr <= 100 for m in models.values()
               for mr in m['mr'].values())
    # one training per seed and student, with that seed
    for seed in ('3', '5'):
        for role in ('student', 'mimic'):
            log = (work / f'train_{role}_seed{seed}.log').read_text()
            assert f'randomness = dict(seed={seed})' in log


def test_ablation_rows_reuse_the_finished_rows(quick_demo):
    # a second run in the same work dir: the rows of the first run (same run
    # keys) are neither trained nor tested again; the new row is, and its
    # MR-2 joins results.json beside them
    work, data, _ = quick_demo
    proc = subprocess.run(
        [sys.executable, DEMO, '--quick', '--seeds', '3', '--ablations',
         'spp', '--work-dir', str(work), '--data-dir', str(data)],
        capture_output=True, text=True, cwd=str(work))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for row in ('student alone', 'student + mimic'):
        assert f'{row} (MobileNetV2 0.5, scratch), seed 3: in results.json' \
            in out
    assert 'train student' not in out and 'test teacher' not in out
    assert 'train spp, seed 3, 8 iterations: done' in out
    assert '| row | finding (paper) | compared with | seed 3 |' in out
    assert '| spp | 5. pixel-wise comparison is better than SPP | mimic |' \
        in out
    assert osp.getsize(work / 'ablations.png') > 5000
    results = json.load(open(work / 'results.json'))
    models = results['models']
    assert sorted(models) == ['mimic', 'spp', 'student', 'teacher']
    assert sorted(models['student']['mr']) == ['3', '5']   # both runs
    assert sorted(models['spp']['mr']) == sorted(models['spp']['keys']) \
        == ['3']
    assert {'params_m', 'gflops', 'latency_ms', 'onnx_latency_ms'} <= set(
        models['spp'])
    assert models['spp']['keys']['3'] != models['mimic']['keys']['3']
    # the speed-up's teacher was measured beside the row, in the same run
    assert models['spp']['teacher_latency_ms'] > 0
    # the table again from results.json alone, nothing trained or tested,
    # results.json left as it was
    before = (work / 'results.json').read_bytes()
    proc = subprocess.run(
        [sys.executable, DEMO, '--quick', '--seeds', '3', '4', '--ablations',
         'spp', 'roi_align', '--report-only', '--work-dir', str(work),
         '--data-dir', str(data)], capture_output=True, text=True,
        cwd=str(work))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'started' not in proc.stdout
    assert 'roi_align, seed 3: not in results.json, left out' in proc.stdout
    # the table of the seeds asked for: the student's seed 5 is left out
    assert 'MR-2 seed 3 |' in proc.stdout
    assert 'seed 5' not in proc.stdout
    assert '| spp | 5. pixel-wise comparison is better than SPP | mimic |' \
        in proc.stdout
    assert (work / 'results.json').read_bytes() == before
    # seeds nobody ran: refused, naming the seeds results.json has
    proc = subprocess.run(
        [sys.executable, DEMO, '--quick', '--seeds', '9', '--report-only',
         '--work-dir', str(work), '--data-dir', str(data)],
        capture_output=True, text=True, cwd=str(work))
    assert proc.returncode == 2
    assert 'has no MR-2 of these rows for seeds 9 (it has seeds 3 5)' in \
        proc.stderr


def test_damaged_shipped_teacher_is_refused(tmp_path, monkeypatch):
    # run_demo checks the shipped teacher against metafile.yml's SHA-256
    from mmmimic.demo import teacher
    path, seed = teacher.shipped_teacher()
    assert path == TEACHER_CKPT and seed == 0
    copy = tmp_path / 'teacher.pth'
    data = bytearray(open(TEACHER_CKPT, 'rb').read())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(teacher, 'TEACHER_CKPT', str(copy))
    from mmmimic.utils.cli import UsageError
    with pytest.raises(UsageError, match='SHA-256 .* damaged or was replaced'):
        teacher.shipped_teacher()
    monkeypatch.setattr(teacher, 'TEACHER_CKPT', str(tmp_path / 'missing.pth'))
    with pytest.raises(UsageError, match='missing'):
        teacher.shipped_teacher()


def options(data):
    root = str(data) + '/'
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={root}annotations/test-6x.json',
            f'test_evaluator.ann_file={root}annotations/test-6x.json']


def test_mimic_config_through_tools_and_mim(quick_demo, tmp_path):
    work, data, _ = quick_demo
    teacher_ckpt = TEACHER_CKPT
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
