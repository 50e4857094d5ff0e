"""tools/analysis_tools: the feature picture of a mimic run and MR-FPPI curves
of several runs' predictions."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS

from ..conftest import REPO_ROOT, TINY_CONFIG

pytestmark = pytest.mark.slow
TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')
MIMIC_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_mimic_coco.py')


def is_png(path) -> bool:
    with open(path, 'rb') as f:
        return f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_vis_mimic_features(tiny_coco, tmp_path):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        teacher = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    cfg = Config.fromfile(MIMIC_CONFIG)
    cfg.model.teacher_ckpt = str(teacher_ckpt)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        mimic = MODELS.build(cfg.model)
    ckpt = tmp_path / 'mimic.pth'
    torch.save(dict(state_dict=mimic.state_dict()), ckpt)
    out = tmp_path / 'features.png'
    image = osp.join(tiny_coco, 'images', 'val_0000.jpg')
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'vis_mimic_features.py'),
         MIMIC_CONFIG, str(ckpt), image, '--out', str(out),
         '--num-regions', '8', '--cfg-options',
         f'model.teacher_ckpt={teacher_ckpt}'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert is_png(out)


def test_plot_mr_curves(tmp_path):
    import json
    # two "runs" on a 2-image test set with one pedestrian each
    ann = dict(
        images=[dict(id=i, file_name=f'set06_V000_I{i:05d}.jpg', width=640,
                     height=480) for i in range(2)],
        annotations=[dict(id=i + 1, image_id=i, category_id=1,
                          bbox=[100, 100, 40, 100], area=4000, iscrowd=0,
                          label='person', visibility=1.0)
                     for i in range(2)],
        categories=[dict(id=1, name='person')])
    ann_file = tmp_path / 'test.json'
    ann_file.write_text(json.dumps(ann))

    def predictions(hit: bool):
        box = [100, 100, 140, 200] if hit else [400, 300, 440, 400]
        return [dict(img_id=i, pred_instances=dict(
            bboxes=torch.tensor([box], dtype=torch.float32),
            scores=torch.tensor([0.9]), labels=torch.tensor([0])))
            for i in range(2)]
    paths = []
    for name, hit in (('good', True), ('bad', False)):
        path = tmp_path / f'{name}.pkl'
        with open(path, 'wb') as f:
            pickle.dump(predictions(hit), f)
        paths.append(str(path))
    out = tmp_path / 'curves.png'
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'plot_mr_curves.py'), str(ann_file)] +
        paths + ['--labels', 'good run', 'bad run', '--out', str(out)],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert is_png(out)
    lines = proc.stdout.splitlines()
    good = next(line for line in lines if line.startswith('good run'))
    bad = next(line for line in lines if line.startswith('bad run'))
    assert float(good.split()[-2]) < float(bad.split()[-2])
