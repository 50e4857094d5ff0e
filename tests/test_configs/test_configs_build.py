"""Every config under configs/ parses; the models build (no data, no weights)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from ..conftest import REPO_ROOT

register_all_modules(init_default_scope=False)
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_there_are_configs():
    assert CONFIGS


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    model_cfg = cfg.model
    # no checkpoint exists here: build the teacher with its initial weights
    if 'teacher_ckpt' in model_cfg:
        assert model_cfg.teacher_ckpt.startswith('work_dirs/')
        model_cfg.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    assert hasattr(model, 'roi_head')


def test_voc_mimic_pairs_the_five_fpn_levels():
    cfg = Config.fromfile(osp.join(
        REPO_ROOT, 'configs', 'mimic', 'mimic_faster-rcnn_r18-r50_fpn_1x_voc0712.py'))
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope), \
            pytest.warns(UserWarning, match='teacher_ckpt is None'):
        model = MODELS.build(cfg.model)
    assert model.mimic_levels == [(i, i) for i in range(5)]
    assert model.backbone.depth == 18 and model.teacher.backbone.depth == 50
    assert model.roi_head.bbox_head.num_classes == 20
    assert model.teacher.roi_head.bbox_head.num_classes == 20


def test_caltech_base_config_resolves():
    from mmmimic.registry import DATASETS, METRICS
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'caltech.py'))
    assert DATASETS.get(cfg.train_dataloader.dataset.type) is not None
    assert METRICS.get(cfg.val_evaluator.type) is not None
    assert cfg.test_evaluator.setups == ('Reasonable', )
