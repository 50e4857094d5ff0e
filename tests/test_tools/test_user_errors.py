"""Class "one line, not a traceback": every tool runs through one entry point
(mmmimic.utils.cli.run_tool) that prints a user's mistake as one line naming
it and keeps the traceback behind --debug; a bug keeps its traceback. A new
tool is covered by adding its bad inputs to CASES."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from mmmimic.utils.cli import USER_ERROR_STATUS, is_user_error, one_line

from ..conftest import REPO_ROOT, run_tool_in_process

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
MIMIC = osp.join(DEMO, 'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py')
STUDENT = osp.join(DEMO, 'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py')


def tool(*parts):
    return osp.join(REPO_ROOT, 'tools', *parts)


#: (tool and arguments, what the one line must say); {tmp} is a fresh folder
#: with ``damaged.pth`` (not a checkpoint) in it
CASES = {
    'export_onnx: missing checkpoint': (
        [tool('deployment', 'export_onnx.py'), MIMIC, '{tmp}/none.pth',
         '{tmp}/out.onnx'], 'none.pth'),
    'export_onnx: damaged checkpoint': (
        [tool('deployment', 'export_onnx.py'), MIMIC, '{tmp}/damaged.pth',
         '{tmp}/out.onnx'], 'damaged.pth'),
    'extract_student: damaged checkpoint': (
        [tool('model_converters', 'extract_student.py'), MIMIC,
         '{tmp}/damaged.pth', '{tmp}/out'], 'damaged.pth'),
    'train: missing config': (
        [tool('train.py'), '{tmp}/nowhere.py'], 'nowhere.py'),
    'train: a negative mimic weight': (
        [tool('train.py'), MIMIC, '--work-dir', '{tmp}/w', '--cfg-options',
         'model.mimic_loss.loss_weight=-1'], 'loss_weight=-1'),
    'test: misspelled model type': (
        [tool('test.py'), STUDENT, '{tmp}/damaged.pth', '--work-dir',
         '{tmp}/w', '--cfg-options', 'model.type=mmdet.FasterRCNNN'],
        'FasterRCNNN'),
    'test: no test data (refused after the runner is made)': (
        [tool('test.py'), STUDENT, '{tmp}/damaged.pth', '--work-dir',
         '{tmp}/w', '--cfg-options',
         'test_dataloader.dataset.data_root={tmp}/nodata/'], 'nodata'),
    'make_mimic_config: a checkpoint given as the student config': (
        [tool('misc', 'make_mimic_config.py'), '{tmp}/damaged.pth', STUDENT,
         '{tmp}/t.pth', '{tmp}/o.py'],
        'damaged.pth: not a config file'),
    'compare_predictions: missing dump': (
        [tool('analysis_tools', 'compare_predictions.py'), '{tmp}/a.pkl',
         '{tmp}/b.pkl'], 'a.pkl'),
}


def run(args, tmp_path, *extra, subprocess_run: bool = False):
    """The tool as a user runs it: in this process (the same run_tool, the
    imports paid once), or with ``subprocess_run`` a new Python."""
    (tmp_path / 'damaged.pth').write_bytes(b'not a checkpoint at all')
    argv = [a.replace('{tmp}', str(tmp_path)) for a in args] + list(extra)
    if not subprocess_run:
        return run_tool_in_process(argv)
    return subprocess.run([sys.executable] + argv, capture_output=True,
                          text=True, cwd=REPO_ROOT)


@pytest.mark.parametrize('case', sorted(CASES))
def test_a_users_mistake_is_one_line(case, tmp_path):
    args, says = CASES[case]
    proc = run(args, tmp_path)
    assert proc.returncode == USER_ERROR_STATUS, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if says in line]
    assert len(lines) == 1, proc.stderr[-3000:]
    # a refused run leaves nothing: no work dir, no log folder in it
    assert not (tmp_path / 'w').exists(), os.listdir(tmp_path / 'w')


def test_debug_shows_the_traceback(tmp_path):
    args, says = CASES['export_onnx: damaged checkpoint']
    proc = run(args, tmp_path, '--debug', subprocess_run=True)
    assert proc.returncode != 0
    assert 'Traceback' in proc.stderr and says in proc.stderr


#: the one place that ends a run with a message and status 1: a job of the
#: demo failed (a training or test that broke, not a refusal)
NOT_A_REFUSAL = {osp.join('mmmimic', 'demo', 'jobs.py'),
                 osp.join('mmmimic', 'utils', 'cli.py')}


def python_files(*folders):
    for folder in folders:
        for root, _, names in os.walk(osp.join(REPO_ROOT, folder)):
            for name in names:
                if name.endswith('.py'):
                    path = osp.join(root, name)
                    yield osp.relpath(path, REPO_ROOT), open(path).read()


def test_every_refusal_ends_the_same_way():
    """By class: every tool's __main__ goes through run_tool, and no code
    ends a run with SystemExit(message) / sys.exit(message) of its own (which
    exits 1 and skips run_tool): a refusal raises UsageError or a package
    error, printed as one line with USER_ERROR_STATUS."""
    own_exit = re.compile(r'(raise SystemExit|sys\.exit)\(\s*[frb]*[\'"]')
    offenders, outside = [], []
    for path, text in python_files('tools', 'benchmarks', 'mmmimic'):
        if path not in NOT_A_REFUSAL and own_exit.search(text):
            offenders.append(path)
        if "__name__ == '__main__'" in text and 'run_tool(' not in text:
            outside.append(path)
    assert not offenders, f'raise UsageError instead: {offenders}'
    assert not outside, f'run these through run_tool: {outside}'


def test_a_bug_keeps_its_traceback():
    def raise_in(error):
        try:
            raise error
        except Exception as caught:   # (this test's file is not mmmimic's)
            return caught
    assert not is_user_error(raise_in(ZeroDivisionError('bug')))
    assert not is_user_error(raise_in(ValueError('raised outside mmmimic')))
    assert is_user_error(raise_in(FileNotFoundError('x.pth')))
    assert one_line(KeyError('a\nb  c')) == 'a b c'


#: numbers where they enter: each flag refused by argparse naming it, or by
#: the tool before any work (a training that would train nothing)
NUMBERS = {
    'compare_predictions --box-atol -1': (
        [tool('analysis_tools', 'compare_predictions.py'), 'a.pkl', 'b.pkl',
         '--box-atol', '-1'],
        'argument --box-atol: -1 must be a finite number at least 0'),
    'compare_predictions --score-atol nan': (
        [tool('analysis_tools', 'compare_predictions.py'), 'a.pkl', 'b.pkl',
         '--score-atol', 'nan'], 'argument --score-atol: nan must be'),
    'export_onnx --shape 32000 32000': (
        [tool('deployment', 'export_onnx.py'), MIMIC, 'x.pth', '{tmp}/o.onnx',
         '--shape', '32000', '32000'],
        'argument --shape: 32000 must be a whole number between 32 and 8192'),
    'make_demo_caltech --videos 0': (
        [tool('dataset_converters', 'make_demo_caltech.py'), '{tmp}/raw',
         '--videos', '0'], 'argument --videos: 0 must be a whole number at least 1'),
    'caltech --min-visibility 2': (
        [tool('dataset_converters', 'caltech.py'), '{tmp}/raw', '{tmp}/out',
         '--min-visibility', '2'], 'argument --min-visibility: 2 must be'),
    'train pad_size_divisor=0': (
        [tool('train.py'), MIMIC, '--work-dir', '{tmp}/w', '--cfg-options',
         'model.data_preprocessor.pad_size_divisor=0'],
        'model.data_preprocessor.pad_size_divisor=0: must be a whole number'),
    'test pad_size_divisor=0': (
        [tool('test.py'), STUDENT, '{tmp}/damaged.pth', '--work-dir',
         '{tmp}/w', '--cfg-options',
         'model.data_preprocessor.pad_size_divisor=0'],
        'model.data_preprocessor.pad_size_divisor=0: must be a whole number'),
    'export_onnx pad_size_divisor=0': (
        [tool('deployment', 'export_onnx.py'), STUDENT, '{tmp}/damaged.pth',
         '{tmp}/o.onnx', '--cfg-options',
         'model.data_preprocessor.pad_size_divisor=0'],
        'model.data_preprocessor.pad_size_divisor=0: must be a whole number'),
    'train max_iters=-1': (
        [tool('train.py'), STUDENT, '--work-dir', '{tmp}/w', '--cfg-options',
         'train_cfg.max_iters=-1'],
        'train_cfg.max_iters=-1: a training needs at least one iteration'),
}


@pytest.mark.parametrize('case', sorted(NUMBERS))
def test_numbers_are_checked_where_they_enter(case, tmp_path):
    args, says = NUMBERS[case]
    proc = run(args, tmp_path)
    assert proc.returncode == USER_ERROR_STATUS, proc.stderr[-3000:]
    assert says in proc.stderr and 'Traceback' not in proc.stderr, \
        proc.stderr[-3000:]
    assert not (tmp_path / 'raw').exists() and not (tmp_path / 'w').exists()


#: paths where they enter: a folder argument that names a file, a file stem
#: that is a path or too long; refused by argparse naming the flag, before
#: anything is written ({tmp}/afile is a file)
PATHS = {
    'run_demo --work-dir FILE': (
        [tool('run_demo.py'), '--work-dir', '{tmp}/afile'],
        'argument --work-dir: {tmp}/afile is a file, not a folder'),
    'run_demo --data-dir FILE': (
        [tool('run_demo.py'), '--data-dir', '{tmp}/afile'],
        'argument --data-dir: {tmp}/afile is a file, not a folder'),
    'train --work-dir FILE': (
        [tool('train.py'), STUDENT, '--work-dir', '{tmp}/afile'],
        'argument --work-dir: {tmp}/afile is a file, not a folder'),
    'test --show-dir FILE': (
        [tool('test.py'), STUDENT, '{tmp}/damaged.pth', '--show-dir',
         '{tmp}/afile'],
        'argument --show-dir: {tmp}/afile is a file, not a folder'),
    'extract_student OUT_DIR FILE': (
        [tool('model_converters', 'extract_student.py'), MIMIC,
         '{tmp}/damaged.pth', '{tmp}/afile'],
        'argument out_dir: {tmp}/afile is a file, not a folder'),
    'extract_student --name of 300 characters': (
        [tool('model_converters', 'extract_student.py'), MIMIC,
         '{tmp}/damaged.pth', '{tmp}/out', '--name', 'x' * 300],
        'argument --name: a file stem of 300 bytes; at most 200'),
    'extract_student --name with a folder': (
        [tool('model_converters', 'extract_student.py'), MIMIC,
         '{tmp}/damaged.pth', '{tmp}/out', '--name', '../up'],
        "argument --name: '../up': a file stem is a non-empty name not "
        'starting with "."'),
}


@pytest.mark.parametrize('case', sorted(PATHS))
def test_paths_are_checked_where_they_enter(case, tmp_path):
    args, says = PATHS[case]
    (tmp_path / 'afile').write_text('not a folder')
    proc = run(args, tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert says.replace('{tmp}', str(tmp_path)) in proc.stderr and \
        'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile',
                                                          'damaged.pth']
