"""tools/run_demo.py --ablations: the rows, their run keys, what is reused and
what is trained again (``mmmimic.demo``), and the arguments refused before any
work (the tool's own checks)."""
import glob
import importlib.util
import os.path as osp
import re

import pytest

from mmmimic.demo import plan
from mmmimic.demo.data import MANIFEST
from mmmimic.demo.runs import (
    ABLATIONS,
    Row,
    condition,
    demo_rows,
    row_config,
    run_key,
    schedule_options,
)
from mmmimic.demo.tables import ablation_table
from mmmimic.demo.teacher import train_teacher

from ..conftest import REPO_ROOT

DEMO = osp.join(REPO_ROOT, 'tools', 'run_demo.py')
ABLATION_DIR = osp.join(REPO_ROOT, 'configs', 'demo', 'ablations')


@pytest.fixture(scope='module')
def run_demo():
    spec = importlib.util.spec_from_file_location('run_demo_ablations', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_row_has_its_config_and_says_its_finding_first():
    files = {osp.basename(p)[:-3]
             for p in glob.glob(osp.join(ABLATION_DIR, '*.py'))}
    assert files == set(ABLATIONS) == {
        'wholemap', 'logit', 'gt_regions', 'random_regions', 'no_norm',
        'spp', 'roi_align',
        'two_stage', 'half_input_alone', 'half_input_deconv',
        'half_input_adapter', 'w0.25_alone', 'w0.25'}
    for name, (reference, expected, finding) in ABLATIONS.items():
        first = open(osp.join(ABLATION_DIR, f'{name}.py')).readline()
        number = re.match(r'# Finding (\d)', first)
        assert number, f'{name}.py: first comment must name its finding'
        assert finding.startswith(number.group(1) + '.'), name
        assert reference in ABLATIONS or reference in ('student', 'mimic')
        assert expected in (1, -1)


def test_rows_bring_the_rows_they_are_compared_with():
    rows = demo_rows(['w0.25', 'half_input_adapter'])
    assert [r.role for r in rows] == [
        'teacher', 'student', 'mimic', 'half_input_alone', 'half_input_deconv',
        'half_input_adapter', 'w0.25_alone', 'w0.25']
    mimic = {r.role: r.mimic for r in rows}
    assert mimic == dict(teacher=False, student=False, mimic=True,
                         half_input_alone=False, half_input_deconv=True,
                         half_input_adapter=True, **{'w0.25_alone': False,
                                                     'w0.25': True})


def args_for(run_demo, *argv):
    import sys
    old = sys.argv
    sys.argv = ['run_demo.py'] + list(argv)
    try:
        return run_demo.parse_args()
    finally:
        sys.argv = old


def test_run_key_follows_config_threads_iterations_teacher_and_data(
        run_demo, tmp_path):
    config = tmp_path / 'row.py'
    config.write_text(f"_base_ = '{ABLATION_DIR}/spp.py'\n")
    row = Row('spp', 'spp', str(config), True)
    args = args_for(run_demo, '--seeds', '1')
    key = run_key(args, row, 'teacher-sha', 'data-sha')
    assert key == run_key(args, row, 'teacher-sha', 'data-sha')
    assert key != run_key(args, row, 'other', 'data-sha')
    assert key != run_key(args, row, 'teacher-sha', 'other')
    two = args_for(run_demo, '--seeds', '1', '--threads', '2')
    assert key != run_key(two, row, 'teacher-sha', 'data-sha')
    short = args_for(run_demo, '--seeds', '1', '--iters', '20')
    assert key != run_key(short, row, 'teacher-sha', 'data-sha')
    config.write_text(f"_base_ = '{ABLATION_DIR}/spp.py'\n"
                      "model = dict(mimic_loss=dict(loss_weight=10.0))\n")
    assert key != run_key(args, row, 'teacher-sha', 'data-sha')


def test_a_finished_run_is_reused_and_a_changed_one_trained_again(
        run_demo, tmp_path):
    args = args_for(run_demo, '--seeds', '1', '--iters', '4')
    row = demo_rows(['spp'])[-1]
    work = tmp_path / 'work'
    ckpt, steps = plan.train_step(args, str(tmp_path / 'data'), str(work),
                                  'teacher.pth', 1, row, 'key-a')
    assert len(steps) == 1 and '--work-dir' in steps[0][1]
    assert 'model.teacher_ckpt=teacher.pth' in steps[0][1]
    assert 'randomness.seed=1' in steps[0][1]
    run_dir = work / 'seed1' / 'spp'
    assert (run_dir / 'run_key.txt').read_text() == 'key-a'
    # the training finished: same key -> reused, nothing to run
    open(ckpt, 'wb').write(b'weights')
    assert plan.train_step(args, '', str(work), 't', 1, row,
                           'key-a') == (ckpt, [])
    # the config changed: the old run's files are removed, trained again
    (run_dir / 'predictions.pkl').write_bytes(b'old')
    again, steps = plan.train_step(args, '', str(work), 't', 1, row,
                                   'key-b')
    assert again == ckpt and len(steps) == 1
    assert not osp.exists(ckpt) and not (run_dir / 'predictions.pkl').exists()
    assert (run_dir / 'run_key.txt').read_text() == 'key-b'


@pytest.mark.parametrize('argv, message', [
    (['--seeds', '0', '0'], 'each seed once'),
    (['--seeds', '-1'], 'argument --seeds: -1 must be a whole number at '
     'least 0'),
    (['--teacher-seed', '-1'], 'argument --teacher-seed: -1 must be'),
    (['--iters', '0'], 'argument --iters: 0 must be a whole number at least 1'),
    (['--jobs', '0'], 'argument --jobs: 0 must be a whole number at least 1'),
    (['--threads', '-2'], 'argument --threads: -2 must be a whole number'),
    (['--ablations', 'spp', 'nope'], "no row \\['nope'\\]"),
    (['--ablations', 'spp', 'spp'], 'each row once'),
    (['--ablations', 'spp', '--row-options', 'model.x'], 'KEY=VALUE'),
    (['--row-options', 'a=1'], 'name at least one'),
    # each named row is built with its options before anything trains
    (['--ablations', 'no_norm', '--row-options',
      'model.mimic_loss.loss_weight=-3'],
     'row no_norm: model.mimic_loss.loss_weight=-3: must be a finite number'),
    (['--ablations', 'wholemap', '--row-options', 'model.mimic_levels=[(4,4)]'],
     r'row wholemap: mimic_levels pair \(4, 4\) is out of range'),
    (['--ablations', 'spp', '--row-options', 'model.mimic_los.loss_weight=1'],
     r"row spp: .*unknown key\(s\) \['mimic_los'\]"),
    (['--ablations', 'spp', '--row-options', 'modle.x=1'],
     "row spp: .*no 'modle'.*did you mean model"),
    (['--teacher-seed', '3'], '--teacher-seed 3: the shipped teacher is used'),
])
def test_bad_arguments_are_refused_before_any_work(run_demo, argv, message,
                                                   capsys):
    with pytest.raises(SystemExit) as exit_info:
        args_for(run_demo, *argv)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_work_dir_that_is_a_file_is_refused(run_demo, tmp_path, capsys):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(SystemExit):
        args_for(run_demo, '--work-dir', str(path))
    assert 'is a file, not a folder' in capsys.readouterr().err


def test_report_only_needs_a_results_file(run_demo, tmp_path, capsys):
    # refused before any data is made; a work dir with results.json passes
    with pytest.raises(SystemExit):
        args_for(run_demo, '--report-only', '--work-dir', str(tmp_path))
    assert f'--report-only: {tmp_path}/results.json is not there' in \
        capsys.readouterr().err
    (tmp_path / 'results.json').write_text(
        '{"seeds": [0], "models": {"student": {"mr": {"0": 30.0}}}}')
    assert args_for(run_demo, '--report-only', '--work-dir',
                    str(tmp_path)).report_only


@pytest.mark.parametrize('named', [['all'], ['all', 'logit'],
                                   ['spp', 'all']])
def test_all_means_every_row(run_demo, named):
    args = args_for(run_demo, '--ablations', *named)
    assert args.ablations == sorted(ABLATIONS)


def test_all_beside_an_unknown_row_names_it(run_demo, capsys):
    with pytest.raises(SystemExit):
        args_for(run_demo, '--ablations', 'all', 'logits')
    assert "no row ['logits']" in capsys.readouterr().err


def test_report_only_of_seeds_not_recorded_is_refused_first(
        run_demo, tmp_path, capsys):
    # before any data is made or results.json read again
    (tmp_path / 'results.json').write_text(
        '{"seeds": [1], "models": {"mimic": {"mr": {"1": 30.0}}}}')
    data = tmp_path / 'data'
    with pytest.raises(SystemExit):
        args_for(run_demo, '--report-only', '--work-dir', str(tmp_path),
                 '--data-dir', str(data), '--seeds', '9')
    assert 'has no MR-2 of these rows for seeds 9 (it has seeds 1)' in \
        capsys.readouterr().err
    assert not data.exists()
    assert args_for(run_demo, '--report-only', '--work-dir', str(tmp_path),
                    '--seeds', '1').report_only


def test_row_options_make_a_row_of_their_own(run_demo, tmp_path):
    # a weight sweep: the named row with its options, kept under its own
    # name and run key; the rows it is compared with stay as they are
    rows = demo_rows(['no_norm'], ['model.mimic_loss.loss_weight=0.01'])
    assert [r.role for r in rows] == [
        'teacher', 'student', 'mimic',
        'no_norm[model.mimic_loss.loss_weight=0.01]']
    row = rows[-1]
    assert row.name == 'no_norm' and row.mimic
    assert row_config(row).model.mimic_loss.loss_weight == 0.01
    plain = demo_rows(['no_norm'])[-1]
    args = args_for(run_demo, '--seeds', '0')
    assert run_key(args, row, 't', 'd') != run_key(args, plain, 't', 'd')
    _, steps = plan.train_step(args, str(tmp_path), str(tmp_path), 't',
                               0, row, 'k')
    assert steps[0][1][-1] == 'model.mimic_loss.loss_weight=0.01'
    test, _ = plan.test_step(str(tmp_path), str(tmp_path), row, 'c.pth',
                             'seed0')
    assert test[1][-1] == 'model.mimic_loss.loss_weight=0.01'
    table = ablation_table(
        [r.role for r in rows if r.name in ABLATIONS],
        {r.role: {'0': 30.0} for r in rows}, {}, ABLATIONS)
    assert '| no_norm[model.mimic_loss.loss_weight=0.01] | 4. without' in table


def test_a_longer_schedule_stretches_the_step_and_keeps_the_default_keys(
        run_demo):
    row = demo_rows([])[2]   # mimic
    cfg = row_config(row)
    default = cfg.train_cfg.max_iters
    # at the configs' own length nothing is added: the keys of the
    # committed results.json stay what they were
    assert schedule_options(cfg, default) == []
    options = schedule_options(cfg, 4 * default)
    step = int(cfg.param_scheduler[1].milestones[0])
    assert options == [f'param_scheduler.1.end={4 * default}',
                       f'param_scheduler.1.milestones=[{4 * step}]']
    # the warm-up (ends before max_iters) is kept
    assert not any(o.startswith('param_scheduler.0') for o in options)
    base = args_for(run_demo, '--seeds', '1')
    long = args_for(run_demo, '--seeds', '1', '--iters', str(4 * default))
    same = args_for(run_demo, '--seeds', '1', '--iters', str(default))
    key = run_key(base, row, 't', 'd')
    assert run_key(same, row, 't', 'd') == key
    assert run_key(long, row, 't', 'd') != key
    # the teacher's key does not follow the students' schedule
    teacher = demo_rows([])[0]
    assert run_key(long, teacher, 't', 'd') == \
        run_key(base, teacher, 't', 'd')


def test_rows_of_another_condition_are_named_by_it(run_demo):
    default = row_config(demo_rows([])[1]).train_cfg.max_iters
    assert condition(args_for(run_demo)) == ('', '')
    assert condition(args_for(
        run_demo, '--iters', str(default))) == ('', '')
    assert condition(args_for(run_demo, '--iters', '2000')) == (
        '@2000it', '')
    assert condition(args_for(
        run_demo, '--data-variant', 'sparse', '--iters', '2000')) == (
        '@sparse@2000it', '@sparse')
    assert condition(args_for(
        run_demo, '--quick', '--iters', '3')) == ('', '')


def test_report_only_never_trains_a_teacher(tmp_path):
    """--report-only with a data variant whose teacher was never trained here
    refuses, naming the folder, before converting or training anything."""
    import argparse
    data = tmp_path / 'data'
    data.mkdir()
    (data / MANIFEST).write_text('{}')
    args = argparse.Namespace(seeds=[1], teacher_seed=0, quick=False,
                              iters=None, threads=1, report_only=True,
                              data_variant='sparse')
    from mmmimic.utils.cli import UsageError
    with pytest.raises(UsageError, match='--report-only: no teacher trained '
                       'on this data in .*teacher'):
        train_teacher(args, str(data), str(tmp_path / 'work'))
    assert not (tmp_path / 'work').exists()
