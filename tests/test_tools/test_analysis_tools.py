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
from mmmimic.utils.cli import USER_ERROR_STATUS, user_error_types

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
    # another model's checkpoint: one line naming it, no traceback
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'vis_mimic_features.py'),
         MIMIC_CONFIG, str(teacher_ckpt), image, '--out',
         str(tmp_path / 'other.png'), '--cfg-options',
         f'model.teacher_ckpt={teacher_ckpt}'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == USER_ERROR_STATUS
    assert 'is a checkpoint of another model' in proc.stderr
    assert 'Traceback' not in proc.stderr


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


def test_rcnn_on_mimic_regions(tiny_coco, tmp_path):
    """Both RoI heads on the mimic regions: figures of a mimic run's and of
    a student-alone checkpoint, a JSON written atomically, bad --out."""
    import json

    from ..conftest import tiny_data_options, tool_module
    tool = tool_module('analysis_tools', 'rcnn_on_mimic_regions.py')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        teacher = MODELS.build(Config.fromfile(TINY_CONFIG).model)
        mimic = MODELS.build(Config.fromfile(MIMIC_CONFIG).model)
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    ckpt = tmp_path / 'mimic.pth'
    torch.save(dict(state_dict=mimic.state_dict()), ckpt)
    alone = tmp_path / 'alone.pth'   # the student's keys only
    torch.save(dict(state_dict={k: v for k, v in mimic.state_dict().items()
                                if not k.startswith('mimic_adapter.')}),
               alone)
    options = ['--cfg-options', f'model.teacher_ckpt={teacher_ckpt}',
               *tiny_data_options(tiny_coco)]
    out = tmp_path / 'stats.json'
    # whatever default scope an earlier caller left (here mmdet's, where a
    # scoped 'mmdet.X' type finds no parent's transform), the tool builds
    # its pipeline in the config's own scope
    with DefaultScope.overwrite_default_scope('mmdet'):
        stats = tool.main([MIMIC_CONFIG, str(ckpt), '--images', '2',
                           '--out', str(out), *options])
    assert json.loads(out.read_text()) == json.loads(json.dumps(stats))
    assert stats['images'] == 2 and stats['regions'] > 0
    for role in ('teacher', 'student'):
        assert 0 <= stats[role]['accuracy'] <= 1
        assert stats[role]['cross_entropy'] >= 0
    assert stats['kl_teacher_student'] >= 0
    again = tool.main([MIMIC_CONFIG, str(alone), '--images', '2', *options])
    assert again['student'] == stats['student']
    # refusals are the errors run_tool prints as one line
    refused = user_error_types()
    with pytest.raises(refused, match='exists; pass --overwrite'):
        tool.main([MIMIC_CONFIG, str(ckpt), '--out', str(out), *options])
    with pytest.raises(refused, match='not a mimic config'):
        tool.main([TINY_CONFIG, str(ckpt)])
    with pytest.raises(refused, match='no such file'):
        tool.main([MIMIC_CONFIG, str(tmp_path / 'missing.pth'), *options])
    with pytest.raises(refused, match='checkpoint of another model'):
        tool.main([MIMIC_CONFIG, str(teacher_ckpt), *options])


def test_object_mask_matches_a_loop():
    from ..conftest import tool_module
    tool = tool_module('analysis_tools', 'mimic_loss_share.py')
    boxes = torch.tensor([[3., 5., 40., 20.], [30., 0., 64., 9.]])
    stride, height, width = 8.0, 4, 9
    expected = torch.zeros(height, width, dtype=torch.bool)
    for i in range(height):
        for j in range(width):
            cy, cx = (i + .5) * stride, (j + .5) * stride
            expected[i, j] = any(x1 <= cx < x2 and y1 <= cy < y2
                                 for x1, y1, x2, y2 in boxes.tolist())
    assert torch.equal(tool.object_mask(boxes, height, width, stride),
                       expected)
    assert not tool.object_mask(boxes[:0], height, width, stride).any()


def test_mimic_loss_share(tiny_coco, tmp_path):
    """Shares on objects and in regions, the per-batch losses with and
    without normalisation; seeded; a whole-map config is refused."""
    import json

    from ..conftest import tiny_data_options, tool_module
    tool = tool_module('analysis_tools', 'mimic_loss_share.py')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        teacher = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    options = ['--cfg-options', f'model.teacher_ckpt={teacher_ckpt}',
               *tiny_data_options(tiny_coco)]
    out = tmp_path / 'share.json'
    rows = tool.main([MIMIC_CONFIG, '--num-batches', '2', '--seed', '3',
                      '--out', str(out), *options])
    assert json.loads(out.read_text())['levels'] == json.loads(
        json.dumps(rows))
    (row, ) = rows
    assert row['batches'] == 2
    for key in ('object_cells', 'error_on_objects', 'region_cells',
                'error_in_regions'):
        assert 0 <= row[key] <= 1, key
    assert row['object_cells'] > 0 and row['region_cells'] > 0
    # a region's sum over its elements is at least its mean
    assert row['summed_loss_mean'] > row['normalised_loss_mean'] > 0
    assert row['normalised_loss_cv'] >= 0 and row['summed_loss_cv'] >= 0
    assert tool.main([MIMIC_CONFIG, '--num-batches', '2', '--seed', '3',
                      *options]) == rows
    with pytest.raises(user_error_types(), match='no region mimic_loss'):
        tool.main([MIMIC_CONFIG, '--num-batches', '1', *options,
                   'model.mimic_loss.mode=global'])
