"""Measurement helpers: FLOPs on noise or on a given image, latency; the
benchmarks' --json files."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import complexity, markdown_table, predict_ms

from ..test_models._tiny import tiny_detector

register_all_modules()


def build(base):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        return MODELS.build(ConfigDict(tiny_detector(base)))


def test_complexity_on_an_image_is_deterministic_and_scales_with_width():
    image = torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    wide, thin = build(16), build(8)
    first = complexity(wide, (96, 128), image)
    assert first == complexity(wide, (96, 128), image)
    assert first['params'] == sum(p.numel() for p in wide.parameters()) / 1e6
    small = complexity(thin, (96, 128), image)
    assert 0 < small['gflops'] < first['gflops']
    assert small['params'] < first['params']
    # noise input: same parameter count, some FLOP count
    noise = complexity(wide, (96, 128))
    assert noise['params'] == first['params'] and noise['gflops'] > 0
    assert predict_ms(thin, (96, 128), repeats=2, warmup=1, image=image) > 0


def test_markdown_table():
    table = markdown_table(['a', 'b'], [['x', 1.23456], ['y', 2]])
    assert table.splitlines() == ['| a | b |', '|---|---|', '| x | 1.23 |',
                                  '| y | 2 |']


def test_noise_input_is_made_on_the_models_device(monkeypatch):
    """mmengine's complexity counter does not move inputs: on CUDA a CPU input
    fails. 'meta' stands for a device other than the CPU here."""
    import mmengine.analysis

    from mmmimic.utils.benchmark import model_device
    seen = []

    def counter(model, inputs, **kwargs):
        seen.append(inputs.device)
        return dict(flops=1e9)

    monkeypatch.setattr(mmengine.analysis, 'get_model_complexity_info', counter)
    model = build(8).to('meta')
    assert model_device(model) == torch.device('meta')
    assert complexity(model, (96, 128))['gflops'] == 1.0
    assert seen == [torch.device('meta')]
    assert model_device(torch.nn.ReLU()) == torch.device('cpu')


@pytest.mark.parametrize('script', ['deploy_speed.py', 'mimic_loss.py',
                                    'mimic_overhead.py', 'ps_roi_pool.py',
                                    'student_speed.py'])
def test_benchmark_json_is_never_overwritten_unasked(script, tmp_path):
    """Every benchmark refuses an existing --json file before it times
    anything, and leaves the file as it was."""
    import os.path as osp
    import subprocess
    import sys

    from ..conftest import REPO_ROOT
    old = tmp_path / 'figures.json'
    old.write_text('{"kept": true}')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'benchmarks', script),
         '--json', str(old)], capture_output=True, text=True,
        cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f'--json {old} exists; pass --overwrite to replace it' in \
        proc.stderr
    assert old.read_text() == '{"kept": true}'
    assert [p.name for p in tmp_path.iterdir()] == ['figures.json']


def test_benchmark_json_destination_checks(tmp_path, capsys):
    """A folder or another suffix is refused too; --overwrite allows an
    existing file; no --json, nothing to check."""
    import argparse

    from mmmimic.utils.benchmark import add_json_arguments, check_json_destination
    parser = argparse.ArgumentParser(prog='bench')
    add_json_arguments(parser)
    old = tmp_path / 'figures.json'
    old.write_text('{}')
    folder = tmp_path / 'folder.json'
    folder.mkdir()
    for argv, says in (([str(folder)], 'is a folder'),
                       ([str(tmp_path / 'figures.txt')], 'must end in .json'),
                       ([str(old)], 'exists; pass --overwrite')):
        args = parser.parse_args(['--json'] + argv)
        with pytest.raises(SystemExit):
            check_json_destination(parser, args)
        err = capsys.readouterr().err
        assert f'bench: error: --json {argv[0]}' in err and says in err
    for argv in (['--json', str(old), '--overwrite'], []):
        check_json_destination(parser, parser.parse_args(argv))


def test_write_json_replaces_atomically(tmp_path):
    from mmmimic.utils.benchmark import write_json
    path = tmp_path / 'figures.json'
    write_json(str(path), dict(results=[1.5]))
    write_json(str(path), dict(results=[2.5]))
    write_json(None, dict(results=[3.5]))   # no --json: nothing written
    assert json.loads(path.read_text()) == dict(results=[2.5])
    assert [p.name for p in tmp_path.iterdir()] == ['figures.json']


@pytest.mark.parametrize('seconds', [[0.1], [0.1, 0.3], [0.3, 0.1, 0.2],
                                     [0.5, 0.1, 0.4, 0.2, 0.3]])
def test_timing_quartiles_stay_inside_the_rounds(seconds):
    from mmmimic.utils.benchmark import Timing
    timing = Timing.of(seconds)
    ms = sorted(1000 * s for s in seconds)
    assert timing.low == ms[0] and timing.high == ms[-1]
    assert ms[0] <= timing.q1 <= timing.median <= timing.q3 <= ms[-1]
    assert timing.median == pytest.approx(1000 * float(np.median(seconds)))
    # numpy's default (linear) quartiles
    assert timing.q1 == pytest.approx(1000 * np.percentile(seconds, 25))
    assert timing.q3 == pytest.approx(1000 * np.percentile(seconds, 75))
    assert timing.rounds == len(seconds)


def test_deploy_speed_profiles_the_graph_at_the_images_size(monkeypatch):
    """deploy_speed's eager stage profile gives the exported graph the image
    normalised and padded, not resized: a half-input student's graph resizes
    it itself, as its ONNX file does (resizing twice timed a quarter-size
    image)."""
    import importlib.util
    import os.path as osp

    from ..conftest import REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        'deploy_speed', osp.join(REPO_ROOT, 'benchmarks', 'deploy_speed.py'))
    deploy_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy_speed)
    shapes = []

    class Recording(deploy_speed.OnnxTwoStageGraph):

        def __init__(self, model, shape, *args, **kwargs):
            shapes.append(tuple(shape))
            super().__init__(model, shape, *args, **kwargs)

    monkeypatch.setattr(deploy_speed, 'OnnxTwoStageGraph', Recording)
    image = np.random.default_rng(0).integers(0, 255, (64, 96, 3),
                                              dtype=np.uint8)
    for scale in (1.0, 0.5):
        cfg = tiny_detector()
        cfg['data_preprocessor'].update(
            type='mmmimic.ScaledDetDataPreprocessor', input_scale=scale)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmmimic'):
            model = MODELS.build(ConfigDict(cfg)).eval()
        stages = deploy_speed.torch_stages(model, image, rounds=1)
        assert all(ms >= 0 for ms in stages.values())
    assert shapes == [(64, 96), (64, 96)]
