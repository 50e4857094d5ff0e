"""tools/dist_train.sh: two CPU processes (torchrun, gloo) train a mimic config,
and their first step equals one process on the same global batch."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from ..conftest import REPO_ROOT, TINY_CONFIG, env_with_pythonpath, tiny_data_options

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
DIST_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_mimic_coco_dist.py')

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def arranged_annotations(root: str, out: str) -> str:
    """train.json's first two images as [A, A, B, B, A, B, A, B]. With 2 ranks
    and batch 2 the distributed sampler gives both ranks [A, B] at the first
    step (equal to one process on [A, A, B, B]), then rank 0 [A, A] and rank 1
    [B, B] at the second (replicas stay equal only if gradients are synced)."""
    with open(osp.join(root, 'annotations', 'train.json')) as f:
        coco = json.load(f)
    images, annotations = [], []
    for new_id, old in enumerate([0, 0, 1, 1, 0, 1, 0, 1]):
        image = dict(coco['images'][old], id=new_id)
        images.append(image)
        for ann in coco['annotations']:
            if ann['image_id'] == old:
                annotations.append(dict(ann, id=len(annotations) + 1,
                                        image_id=new_id))
    with open(out, 'w') as f:
        json.dump(dict(coco, images=images, annotations=annotations), f)
    return out


def first_iter_scalars(work_dir: str) -> dict:
    [path] = [p for p in (os.path.join(r, f) for r, _, fs in os.walk(work_dir)
                          for f in fs) if p.endswith('scalars.json')]
    with open(path) as f:
        return json.loads(f.readline())


def test_two_cpu_processes_equal_one_process(tiny_coco, tmp_path):
    data = tiny_data_options(tiny_coco)
    # the scripts call `python`: the one of this environment (an activated venv)
    env = dict(env_with_pythonpath(osp.join(REPO_ROOT, 'tests', 'data')),
               OMP_NUM_THREADS='1', PORT=str(free_port()),
               PATH=osp.dirname(sys.executable) + os.pathsep +
               os.environ.get('PATH', ''))
    subprocess.run([sys.executable, TRAIN, TINY_CONFIG, '--work-dir',
                    str(tmp_path / 't'), '--cfg-options',
                    'train_cfg.max_iters=1'] + data, check=True,
                   capture_output=True, cwd=str(tmp_path))
    ann = arranged_annotations(tiny_coco, str(tmp_path / 'train.json'))
    common = [f'model.teacher_ckpt={tmp_path / "t" / "iter_1.pth"}',
              f'train_dataloader.dataset.ann_file={ann}'] + data
    single = subprocess.run(
        [sys.executable, TRAIN, DIST_CONFIG, '--work-dir',
         str(tmp_path / 'single'), '--cfg-options',
         'train_dataloader.batch_size=4'] + common,
        capture_output=True, text=True, cwd=str(tmp_path), env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    dist = subprocess.run(
        ['bash', DIST_TRAIN, DIST_CONFIG, '2', '--work-dir',
         str(tmp_path / 'dist'), '--cfg-options',
         'train_dataloader.batch_size=2'] + common,
        capture_output=True, text=True, cwd=str(tmp_path), env=env)
    assert dist.returncode == 0, dist.stdout[-3000:] + dist.stderr[-3000:]
    log = dist.stdout + dist.stderr
    assert "backend='gloo'" in log and 'Distributed training: True' in log, \
        log[-3000:]

    a = first_iter_scalars(str(tmp_path / 'single'))
    b = first_iter_scalars(str(tmp_path / 'dist'))
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
                'loss_bbox', 'loss_mimic'):
        assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-7), key

    one = torch.load(str(tmp_path / 'single' / 'iter_1.pth'),
                     map_location='cpu')['state_dict']
    two = torch.load(str(tmp_path / 'dist' / 'iter_1.pth'),
                     map_location='cpu')['state_dict']
    assert one.keys() == two.keys()
    assert not any(k.startswith('teacher') for k in two)
    for key, value in one.items():
        if value.is_floating_point():
            torch.testing.assert_close(two[key], value, rtol=1e-5, atol=1e-6,
                                       msg=key)
    # the second step ran too (no unused parameters, no DDP error) on different
    # images per rank, and the replicas are still identical: gradients synced
    assert (tmp_path / 'dist' / 'iter_2.pth').is_file()
    rank0 = torch.load(str(tmp_path / 'dist' / 'params_rank0.pth'))
    rank1 = torch.load(str(tmp_path / 'dist' / 'params_rank1.pth'))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank1[key], rank0[key], rtol=0, atol=0,
                                   msg=key)
