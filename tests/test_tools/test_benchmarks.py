"""benchmarks/*.py --quick: each runs on CPU, prints its table, writes --json."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('script, header, keys', [
    ('mimic_overhead.py', '| pair | input |', ('results', )),
    ('mimic_loss.py', '| map (WxH) | C | RoIs | pixel |', ('results', )),
    ('student_speed.py', '| input | model | params (M) |', ('results', )),
    ('ps_roi_pool.py', 'cpu_fwd_bwd_ms', ('cpu_fwd_bwd_ms', )),
    ('deploy_speed.py', '| input | model | PyTorch ms | speed-up | ONNX '
     'Runtime ms |', ('results', )),
])
def test_benchmark_quick(script, header, keys, tmp_path):
    out = tmp_path / 'figures.json'
    args = [sys.executable, osp.join(REPO_ROOT, 'benchmarks', script),
            '--json', str(out)]
    if script != 'ps_roi_pool.py':
        args.append('--quick')
    if script == 'deploy_speed.py':
        args.append('--preprocess-in-graph')
    proc = subprocess.run(args, capture_output=True, text=True,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert header in proc.stdout
    figures = json.loads(out.read_text())
    for key in keys:
        assert figures[key], key
    if script == 'mimic_overhead.py':
        for row in figures['results']:
            assert row['overhead'] > 0 and row['mimic_step'] > 0
    if script == 'deploy_speed.py':
        assert '| backbone and neck | RPN head | RPN proposals and NMS | ' \
            'RoI extraction | RoI head | final NMS |' in proc.stdout
        for row in figures['results']:
            assert row['PyTorch'] > 0 and row['ONNX Runtime'] > 0
            assert row['ONNX Runtime, preprocessing in graph'] > 0
            for runtime in ('PyTorch', 'ONNX_Runtime'):
                assert row['stages'][runtime]['backbone and neck'] > 0


@pytest.mark.device
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('script', ['mimic_overhead.py', 'mimic_loss.py',
                                    'student_speed.py'])
def test_benchmark_quick_on_cuda(script, tmp_path):
    """The benchmarks with --device cuda: inputs, models and timers on the
    GPU (the complexity counter does not move inputs itself)."""
    out = tmp_path / 'figures.json'
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'benchmarks', script), '--json',
         str(out), '--quick', '--device', 'cuda'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures['results']
