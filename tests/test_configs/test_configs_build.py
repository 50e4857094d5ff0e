"""Every config under configs/ parses, builds (no data, no pretrained weights,
no teacher checkpoint) and runs one training loss and one prediction on a small
generated batch on CPU."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from ..conftest import REPO_ROOT
from ..test_models._tiny import batch

register_all_modules(init_default_scope=False)
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_there_are_configs():
    assert CONFIGS


@pytest.mark.filterwarnings('ignore:FeatureMimicDistiller')
@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds_trains_and_predicts(path):
    cfg = Config.fromfile(path)
    model_cfg = cfg.model
    # no checkpoint exists here but the demo's shipped teacher: build the
    # teacher with its initial weights
    if 'teacher_ckpt' in model_cfg:
        ckpt = model_cfg.teacher_ckpt
        assert ckpt.startswith('work_dirs/') or osp.isfile(
            osp.join(REPO_ROOT, ckpt)), ckpt
        model_cfg.teacher_ckpt = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    # init_weights() would download pretrained weights: constructors' init only
    assert hasattr(model, 'roi_head')
    model.train()
    inputs, samples = batch(model, shape=(3, 96, 128))
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total), losses
    if 'teacher_config' in model_cfg:
        assert any(k.startswith('loss_mimic') for k in losses)
    model.eval()
    inputs, samples = batch(model, shape=(3, 96, 128), training=False)
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    for result in results:
        assert result.pred_instances.bboxes.shape[1] == 4


def test_voc_mimic_pairs_the_five_fpn_levels():
    cfg = Config.fromfile(osp.join(
        REPO_ROOT, 'configs', 'mimic', 'mimic_faster-rcnn_r18-r50_fpn_1x_voc0712.py'))
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)   # the teacher loads when training
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
