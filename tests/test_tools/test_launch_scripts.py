"""tools/{dist,slurm}_{train,test}.sh hand the tool and its arguments to the
shared launchers (dist_launch.sh, slurm_launch.sh) unchanged; torchrun and
srun are replaced by stubs that print what they were given."""
import os
import os.path as osp
import stat
import subprocess

import pytest

from ..conftest import REPO_ROOT

TOOLS = osp.join(REPO_ROOT, 'tools')


@pytest.fixture
def stubs(tmp_path):
    """``python`` and ``srun`` on PATH that print their arguments."""
    for name in ('python', 'srun'):
        path = tmp_path / name
        path.write_text('#!/bin/sh\necho "' + name + ' $*"\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
                PORT='29511')


def launch(script, args, env):
    out = subprocess.run(['bash', osp.join(TOOLS, script)] + args, env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('script, args, expected', [
    ('dist_train.sh', ['CFG', '2', '--amp'],
     '--nproc_per_node=2 --master_port=29511 {t}/train.py CFG --amp '
     '--launcher pytorch'),
    ('dist_test.sh', ['CFG', 'CKPT', '4', '--out', 'r.pkl'],
     '--nproc_per_node=4 --master_port=29511 {t}/test.py CFG CKPT --out r.pkl '
     '--launcher pytorch'),
])
def test_dist_scripts(stubs, script, args, expected):
    line = launch(script, args, stubs)
    assert line.startswith('python -m torch.distributed.run --nnodes=1 '
                           '--node_rank=0 --master_addr=127.0.0.1 ')
    assert line.endswith(expected.format(t=TOOLS)), line


@pytest.mark.parametrize('script, args, expected', [
    ('slurm_train.sh', ['part', 'job', 'CFG', 'WD', '--resume'],
     'python -u {t}/train.py CFG --work-dir=WD --resume --launcher=slurm'),
    ('slurm_test.sh', ['part', 'job', 'CFG', 'CKPT', '--tta'],
     'python -u {t}/test.py CFG CKPT --tta --launcher=slurm'),
])
def test_slurm_scripts(stubs, script, args, expected):
    env = dict(stubs, GPUS='4', GPUS_PER_NODE='2')
    line = launch(script, args, env)
    assert line.startswith('srun -p part --job-name=job --gres=gpu:2 '
                           '--ntasks=4 --ntasks-per-node=2 '
                           '--cpus-per-task=5 --kill-on-bad-exit=1 '), line
    assert line.endswith(expected.format(t=TOOLS)), line
