"""The `mim` CLI finds mmmimic's tools and configs from outside the repository."""
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import TINY_CONFIG, tiny_data_options

pytestmark = pytest.mark.slow


def mim(args, cwd):
    proc = subprocess.run([sys.executable, '-m', 'mim'] + args, cwd=cwd,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_installed_package_has_mim_files():
    import mmmimic
    mim_dir = osp.join(osp.dirname(mmmimic.__file__), '.mim')
    for name in ('tools/train.py', 'tools/test.py', 'configs',
                 'model-index.yml'):
        assert osp.exists(osp.join(mim_dir, name)), name


def test_mim_train_and_test_outside_repository(tiny_coco, tmp_path):
    options = ['--cfg-options'] + tiny_data_options(tiny_coco)
    work_dir = tmp_path / 'work'
    mim(['train', 'mmmimic', TINY_CONFIG, '--work-dir', str(work_dir)] + options,
        cwd=str(tmp_path))
    checkpoint = work_dir / 'iter_6.pth'
    assert checkpoint.is_file()
    log = mim(['test', 'mmmimic', TINY_CONFIG, '--checkpoint', str(checkpoint),
               '--work-dir', str(tmp_path / 'test')] + options,
              cwd=str(tmp_path))
    assert 'coco/bbox_mAP' in log


def test_mim_run_finds_a_tool(tmp_path):
    """`mim run mmmimic print_config` resolves tools/misc/print_config.py."""
    log = mim(['run', 'mmmimic', 'print_config', TINY_CONFIG, '--cfg-options',
               'model.backbone.depth=34'], cwd=str(tmp_path))
    assert "type='mmdet.FasterRCNN'" in log
    assert 'depth=34' in log


def test_mim_search_lists_our_configs(tmp_path):
    log = mim(['search', 'mmmimic'], cwd=str(tmp_path))
    assert 'mimic_faster-rcnn_r18-r50_fpn_1x_voc0712' in log
    assert 'configs/mimic/mimic_faster-rcnn_r18-r50_fpn_1x_voc0712.py' in log
    for name in ('mimic_faster-rcnn_inception-v3-w0.5-inception-v3_s16_60k_caltech',
                 'mimic_rfcn_inception-v3-w0.5-inception-v3_s16_60k_caltech',
                 'faster-rcnn_inception-v3-s16_60k_caltech'):
        assert name in log, name
