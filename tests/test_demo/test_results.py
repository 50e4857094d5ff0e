"""The demo's results.json store (rows by run key) and the ablation verdict."""
import json

import pytest

from mmmimic.demo.results import DemoResults, verdict


def test_rows_are_kept_by_run_key_and_written_at_once(tmp_path):
    path = tmp_path / 'results.json'
    store = DemoResults(str(path))
    assert store.mr('spp', 1, 'k1') is None
    store.record('spp', 1, 'k1', 30.5)
    store.record('spp', 2, 'k1', 28.0)
    # written on every record: an interrupted run keeps the finished rows
    again = DemoResults(str(path))
    assert again.mr('spp', 1, 'k1') == 30.5
    assert again.mr('spp', 1, 'another config') is None
    # seed 2 retrained with a changed config: seed 1's number is not current
    again.record('spp', 2, 'k2', 40.0)
    assert again.current('spp', 'k2') == {'2': 40.0}
    assert again.current('spp', 'k1') == {'1': 30.5}
    again.record_stats('spp', dict(params_m=0.8, gflops=0.7,
                                   latency_ms=60.0, onnx_latency_ms=30.0,
                                   other=1))
    again.set_seeds([1, 2])
    data = json.loads(path.read_text())
    assert data['seeds'] == [1, 2]
    assert data['models']['spp'] == dict(
        mr={'1': 30.5, '2': 40.0}, keys={'1': 'k1', '2': 'k2'},
        params_m=0.8, gflops=0.7, latency_ms=60.0, onnx_latency_ms=30.0)
    assert not [p for p in tmp_path.iterdir() if p.name != 'results.json']


@pytest.mark.parametrize('text', ['not json', '[]', '{"models": {"a": 3}}',
                                  '{"models": {"a": {"mr": [1]}}}'])
def test_a_file_that_is_not_demo_results_is_named(tmp_path, text):
    path = tmp_path / 'results.json'
    path.write_text(text)
    with pytest.raises(ValueError, match='results.json is not a demo results'):
        DemoResults(str(path))
    assert path.read_text() == text


def test_verdict_needs_the_same_side_at_every_seed_and_more_than_the_noise():
    ref = {'1': 30.0, '2': 25.0, '3': 26.0}
    worse = {'1': 40.0, '2': 36.0, '3': 38.0}
    judged = verdict(worse, ref, expected=+1)
    assert judged['verdict'] == 'agrees'
    assert judged['seeds'] == ['1', '2', '3']
    assert judged['diff'] == pytest.approx(11.0)
    assert verdict(worse, ref, expected=-1)['verdict'] == 'disagrees'
    # one seed on the other side
    mixed = {'1': 40.0, '2': 24.0, '3': 38.0}
    assert verdict(mixed, ref, +1)['verdict'] == 'inside the noise'
    # same side, but less than the spread between seeds of a row
    noisy = {'1': 31.0, '2': 45.0, '3': 27.0}
    judged = verdict(noisy, ref, +1)
    assert judged['diff'] < judged['noise']
    assert judged['verdict'] == 'inside the noise'
    assert verdict({'1': 40.0}, ref, +1)['verdict'] == 'too few seeds'
    with pytest.raises(ValueError, match='expected'):
        verdict(worse, ref, 0)


def test_a_speed_up_is_a_ratio_of_one_run(tmp_path):
    """Each row keeps the teacher's latency measured beside it: measuring
    the teacher again (a later run) changes no earlier row's speed-up; rows
    of an older results.json keep the teacher figures they were shown with."""
    from mmmimic.demo.results import STAT_KEYS, DemoResults
    from mmmimic.demo.tables import speed_up
    store = DemoResults(str(tmp_path / 'results.json'))
    # an older file: rows without the teacher's latency beside them
    store.record_stats('teacher', dict(latency_ms=100.0, onnx_latency_ms=40.0))
    store.record_stats('student', dict(latency_ms=50.0, onnx_latency_ms=20.0))

    def figures(ms, onnx_ms):
        return dict(params=1.0, gflops=1.0, latency_ms=ms, onnx_latency_ms=onnx_ms)

    def ratios():
        stats = {role: {k: row.get(k) for k in STAT_KEYS}
                 for role, row in store.data['models'].items()}
        return {role: (speed_up(stats, role),
                       speed_up(stats, role, 'onnx_latency_ms'))
                for role in stats if role != 'teacher'}

    assert ratios() == dict(student=('2.00x', '2.00x'))
    # a later run on a busier machine: the teacher and a new row measured
    store.record_measured(dict(teacher=figures(300.0, 90.0),
                               spp=figures(100.0, 45.0)))
    assert ratios() == dict(student=('2.00x', '2.00x'),
                            spp=('3.00x', '2.00x'))
    assert store.data['models']['teacher']['latency_ms'] == 300.0
    # and again: every row keeps its own run's ratio
    store.record_measured(dict(teacher=figures(150.0, 50.0)))
    assert ratios() == dict(student=('2.00x', '2.00x'),
                            spp=('3.00x', '2.00x'))


def test_rows_of_another_condition_are_kept_beside_the_default_ones(
        tmp_path):
    path = str(tmp_path / 'results.json')
    DemoResults(path).record('student', 1, 'k', 50.0)
    DemoResults(path).record('teacher', 0, 't', 12.0)
    long = DemoResults(path, '@2000it', '')
    assert long.mr('student', 1, 'k') is None
    long.record('student', 1, 'k2', 40.0)
    # the teacher depends on the data only
    assert long.mr('teacher', 0, 't') == 12.0
    sparse = DemoResults(path, '@sparse@2000it', '@sparse')
    sparse.record('teacher', 0, 't3', 20.0)
    sparse.record_measured(dict(teacher=dict(params=1.9, gflops=1.8,
                                             latency_ms=100.0),
                                student=dict(params=0.8, gflops=0.7,
                                             latency_ms=50.0)))
    models = json.loads((tmp_path / 'results.json').read_text())['models']
    assert models['student']['mr'] == {'1': 50.0}
    assert models['student@2000it']['mr'] == {'1': 40.0}
    assert models['teacher']['mr'] == {'0': 12.0}
    assert models['teacher@sparse']['mr'] == {'0': 20.0}
    assert models['student@sparse@2000it']['teacher_latency_ms'] == 100.0
    assert sparse.row('student')['latency_ms'] == 50.0
    assert 'latency_ms' not in models['student']


def test_schedule_points_and_figure_from_results_json(tmp_path):
    """Rows of several schedule lengths (NAME@<iters>it) of one data variant
    gathered for the MR-2-against-schedule figure; other variants, sweeps
    and unknown rows left out."""
    from mmmimic.visualization import save_schedule_plot, schedule_points
    models = {
        'student': dict(mr={'1': 50.0, '2': 54.0}),
        'student@2000it': dict(mr={'1': 24.0}),
        'mimic': dict(mr={'1': 29.0}),
        'mimic@1000it': dict(mr={'1': 27.0}),
        'mimic@sparse@2000it': dict(mr={'1': 90.0}),
        'wholemap[model.mimic_loss.loss_weight=5]': dict(mr={'1': 1.0}),
        'teacher': dict(mr={'0': 12.0}),
    }
    points = schedule_points(models, ('student', 'mimic'), 500)
    assert points == {'student': {500: {'1': 50.0, '2': 54.0},
                                  2000: {'1': 24.0}},
                      'mimic': {500: {'1': 29.0}, 1000: {'1': 27.0}}}
    assert schedule_points(models, ('mimic', ), 500, '@sparse') == {
        'mimic': {2000: {'1': 90.0}}}
    path = tmp_path / 'schedule.png'
    save_schedule_plot(points, str(path), teacher=12.0)
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_each_seed_keeps_the_machine_it_ran_on(tmp_path):
    from mmmimic.utils.benchmark import cpu_description
    store = DemoResults(str(tmp_path / 'results.json'))
    store.record('student', 1, 'k', 50.0, 'AMD EPYC, AVX2, 1 thread(s)')
    store.record('student', 2, 'k', 52.0)
    row = json.loads((tmp_path / 'results.json').read_text())['models'][
        'student']
    assert row['machine'] == {'1': 'AMD EPYC, AVX2, 1 thread(s)'}
    assert isinstance(cpu_description(), str) and cpu_description()
