"""Feature mimic mixed into MMDetection configs: the COCO mixing config trains
with MMDetection's own tools/train.py, and make_mimic_config writes configs for
a user's pair."""
import os.path as osp
import subprocess
import sys

import mmdet
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS

from ..conftest import REPO_ROOT, run_tool_in_process

pytestmark = pytest.mark.slow

MIXING_CONFIG = osp.join(REPO_ROOT, 'configs', 'mimic',
                         'mimic_faster-rcnn_r18-r50_fpn_1x_coco.py')
MAKE = osp.join(REPO_ROOT, 'tools', 'misc', 'make_mimic_config.py')
CONFIGS = osp.join(REPO_ROOT, 'configs')


def test_mixing_config_trains_with_mmdetections_train_script(tiny_coco,
                                                             tmp_path):
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    assert osp.isfile(train)
    root = tiny_coco.rstrip('/') + '/'
    options = [
        'model.teacher_ckpt=None',          # no teacher checkpoint here
        'model.backbone.init_cfg=None',     # no download
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=annotations/train.json',
        'train_dataloader.dataset.data_prefix.img=images/',
        'train_dataloader.dataset.pipeline.2.scale=(128,96)',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.ann_file=annotations/val.json',
        'val_dataloader.dataset.data_prefix.img=images/',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'val_evaluator.ann_file={root}annotations/val.json',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=100',
        'default_hooks.logger.interval=1',
    ]
    proc = subprocess.run(
        [sys.executable, train, MIXING_CONFIG, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options'] + options,
        capture_output=True, text=True, cwd=str(tmp_path))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Epoch(train) [1][2/2]' in log and 'loss_mimic:' in log
    saved = torch.load(str(tmp_path / 'work' / 'epoch_1.pth'),
                       map_location='cpu')
    assert not any(k.startswith('teacher') for k in saved['state_dict'])


def make(args, cwd):
    return run_tool_in_process([MAKE] + args, cwd=cwd)


def build_written(path):
    cfg = Config.fromfile(path)
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(cfg.model)   # the teacher loads when training


def test_make_mimic_config_inserts_a_channel_adapter(tmp_path):
    out = tmp_path / 'my_mimic.py'
    proc = make([
        osp.join(CONFIGS, 'students',
                 'faster-rcnn_inception-v3-w0.5-s16_60k_caltech.py'),
        osp.join(CONFIGS, 'teachers',
                 'faster-rcnn_inception-v3-s16_60k_caltech.py'),
        'work_dirs/teacher/iter_60000.pth', str(out)], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'in_channels': 384" in proc.stdout and \
        "'out_channels': 768" in proc.stdout
    model = build_written(str(out))
    assert model.mimic_adapter.scale_factor == 1
    assert Config.fromfile(str(out)).model.teacher_ckpt == \
        'work_dirs/teacher/iter_60000.pth'


def test_make_mimic_config_for_a_half_input_student(tmp_path):
    """A student with ScaledDetDataPreprocessor becomes student_input_scale."""
    out = tmp_path / 'half.py'
    proc = make([
        osp.join(CONFIGS, 'students',
                 'faster-rcnn_inception-v3-w0.5-s16-halfinput_60k_caltech.py'),
        osp.join(CONFIGS, 'teachers',
                 'faster-rcnn_inception-v3-s16_60k_caltech.py'),
        'teacher.pth', str(out)], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = build_written(str(out))
    assert model.student_input_scale == 0.5
    assert type(model.data_preprocessor).__name__ == 'DetDataPreprocessor'


def test_make_mimic_config_same_widths_and_mmdet_paths(tmp_path):
    out = tmp_path / 'voc.py'
    proc = make([
        osp.join(CONFIGS, 'students', 'faster-rcnn_r18_fpn_1x_voc0712.py'),
        'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', 'teacher.pth',
        str(out)], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'adapter: none' in proc.stdout
    assert build_written(str(out)).mimic_adapter is None


def test_make_mimic_config_measures_the_maps(tmp_path):
    """A student whose neck changed (FPN from stride 8) but whose anchors did
    not: one line naming the key and the measured strides, no OUT."""
    student = tmp_path / 'student.py'
    base = osp.join(CONFIGS, 'students', 'faster-rcnn_r18_fpn_1x_voc0712.py')
    student.write_text(f"_base_ = '{base}'\n"
                       'model = dict(neck=dict(start_level=1))\n')
    out = tmp_path / 'mimic.py'
    proc = make([str(student),
                 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
                 'teacher.pth', str(out)], str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].startswith(
        'make_mimic_config.py: the student config says '
        'rpn_head.anchor_generator.strides=[4, 8, 16, 32, 64], but its '
        'network gives 5 level(s) of height [64, 32, 16, 8, 4] on a 512x512 '
        'input, strides [8, 16, 32, 64, 128]: set rpn_head.anchor_generator.'
        'strides=[8, 16, 32, 64, 128]')
    assert not out.exists()


def test_make_mimic_config_refuses_a_one_stage_detector(tmp_path):
    out = tmp_path / 'bad.py'
    proc = make(['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                 'teacher.pth', str(out)], str(tmp_path))
    assert proc.returncode != 0
    assert 'is not a two-stage detector' in proc.stderr
    assert not out.exists()


def test_make_mimic_config_never_replaces_an_input_or_unasked(tmp_path):
    student = tmp_path / 'student.py'
    base = osp.join(CONFIGS, 'students', 'faster-rcnn_r18_fpn_1x_voc0712.py')
    student.write_text(f"_base_ = '{base}'\n")
    teacher = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
    before = student.read_text()
    for extra in ([], ['--overwrite']):   # OUT = the student config
        proc = make([str(student), teacher, 'teacher.pth', str(student)] +
                    extra, str(tmp_path))
        assert proc.returncode != 0
        assert 'is also an input' in proc.stderr.splitlines()[-1]
        assert student.read_text() == before
    out = tmp_path / 'mine.py'
    out.write_text('# my own edits\n')
    proc = make([str(student), teacher, 'teacher.pth', str(out)],
                str(tmp_path))
    assert proc.returncode != 0
    assert 'exists; pass --overwrite' in proc.stderr.splitlines()[-1]
    assert out.read_text() == '# my own edits\n'
    proc = make([str(student), teacher, 'teacher.pth', str(out),
                 '--overwrite'], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'FeatureMimicDistiller' in out.read_text()
