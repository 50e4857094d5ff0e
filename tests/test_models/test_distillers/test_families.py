"""Every MMDetection two-stage family of families.py as the mimic student,
its teacher the family's own ResNet-50 config (MMDetection's file, no
pretrained weights): make_mimic_config, two training steps, extract_student,
and the exported student predicting exactly as the distiller; or the
refusal, one line, before anything trains."""
import os.path as osp
import pprint
import re
import sys
import warnings

import mmdet
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData

from mmmimic.models.distillers.student_export import export_student
from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules, safe_load_checkpoint

from ...conftest import REPO_ROOT, tool_module
from .families import FAMILIES, Family

register_all_modules()
DOCS_TABLE = osp.join(REPO_ROOT, 'docs', 'en', 'compatibility.md')
MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')


def make_mimic_config_main():
    return tool_module('misc', 'make_mimic_config.py').main


def write_config(path, base: str, model: dict) -> str:
    path.write_text(f"_base_ = 'mmdet::{base}'\n"
                    f'model = {pprint.pformat(model)}\n')
    return str(path)


def without_pretrained(node):
    """``node`` with every pretrained-weights ``init_cfg`` removed."""
    if isinstance(node, list):
        return [without_pretrained(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        kinds = [v.get('type') for v in (
            value if isinstance(value, list) else [value])
            if isinstance(v, dict)]
        if key == 'init_cfg' and 'Pretrained' in kinds or key == 'pretrained':
            out[key] = None
        else:
            out[key] = without_pretrained(value)
    return out


def family_batch(model, needs, size=128, seed=0):
    """Two noise images (size x size) with bright boxes, their masks and a
    semantic map where the family's losses need them, preprocessed."""
    g = torch.Generator().manual_seed(seed)
    images, samples = [], []
    for i in range(2):
        image = torch.randint(0, 60, (3, size, size), generator=g,
                              dtype=torch.uint8)
        boxes, masks = [], []
        for _ in range(3 - i):
            h = int(torch.randint(24, size - 8, (1, ), generator=g))
            w = max(12, h // 2)
            x = int(torch.randint(0, size - w, (1, ), generator=g))
            y = int(torch.randint(0, size - h, (1, ), generator=g))
            image[:, y:y + h, x:x + w] = 200
            boxes.append([x, y, x + w, y + h])
            mask = np.zeros((size, size), np.uint8)
            mask[y:y + h, x:x + w] = 1
            masks.append(mask)
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            pad_shape=(size, size), batch_input_shape=(size, size),
            scale_factor=(1.0, 1.0), img_id=i, img_path=f'img_{i}.jpg'))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        sample.ignored_instances = InstanceData(   # as mmdet's datasets give
            bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))
        if 'masks' in needs:
            sample.gt_instances.masks = BitmapMasks(np.stack(masks), size,
                                                    size)
        if 'sem_seg' in needs:
            seg = torch.zeros((1, size, size), dtype=torch.long)
            for x1, y1, x2, y2 in boxes:
                seg[:, y1:y2, x1:x2] = 1
            sample.gt_sem_seg = PixelData(sem_seg=seg)
        images.append(image)
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)
    return data['inputs'], data['data_samples']


def fewer_boxes(node, key: str = ''):
    """A copy of a ``train_cfg`` / ``test_cfg`` that keeps every stage but
    draws fewer boxes: 64 RoIs per image, 100 proposals, 20 detections
    (what the test checks does not depend on how many)."""
    if isinstance(node, list):
        return [fewer_boxes(n, key) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: fewer_boxes(v, k) for k, v in node.items()}
    if key == 'sampler' and 'num' in out:
        out['num'] = min(out['num'], 64)
    if key in ('rpn_proposal', 'rpn'):
        for name, most in (('nms_pre', 200), ('max_per_img', 100),
                           ('max_num', 100), ('nms_post', 100)):
            if name in out:
                out[name] = min(out[name], most)
    if key == 'rcnn' and 'max_per_img' in out:
        out['max_per_img'] = min(out['max_per_img'], 20)
    return out


def predictions(model, inputs, samples) -> dict:
    """Every tensor the model predicts for the batch, by name."""
    import copy
    with torch.no_grad():
        out = model.predict(inputs, copy.deepcopy(samples))
    found = {}
    for i, sample in enumerate(out):
        for field in ('pred_instances', 'pred_panoptic_seg', 'pred_sem_seg'):
            if field in sample:
                for key, value in sample.get(field).items():
                    if isinstance(value, torch.Tensor):
                        found[f'{i}.{field}.{key}'] = value
    return found


def run_family(family: Family, tmp_path):
    base = Config.fromfile(osp.join(MMDET_CONFIGS, family.config)).model
    student = write_config(tmp_path / 'student.py', family.config, dict(
        family.student, **{key: fewer_boxes(base[key].to_dict(), key)
                           for key in ('train_cfg', 'test_cfg')
                           if base.get(key)}))
    teacher = write_config(tmp_path / 'teacher.py', family.config,
                           dict(backbone=dict(init_cfg=None)))
    out = tmp_path / 'mimic.py'
    argv = sys.argv
    sys.argv = ['make_mimic_config.py', student, teacher, 'teacher.pth',
                str(out), '--num-regions', '64']
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            make_mimic_config_main()()
    finally:
        sys.argv = argv
    cfg = Config.fromfile(str(out))
    cfg.model.teacher_ckpt = None
    # initial weights for both (no file can be read here); init_weights
    # matters: some layers (TridentConv) are uninitialised before it
    cfg.model = without_pretrained(cfg.model.to_dict())
    cfg.model['teacher_config'] = dict(model=without_pretrained(
        Config.fromfile(teacher).model.to_dict()))
    assert cfg.model.student_type == \
        f"mmdet.{Config.fromfile(student).model.type}"
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.teacher.init_weights()
        # mmdet's TridentConv weights are torch.Tensor(...) left unset
        # unless pretrained weights are loaded (its Kaiming init_cfg names a
        # child it does not have): set them, as a checkpoint would
        for module in list(model.modules()) + list(model.teacher.modules()):
            if type(module).__name__ == 'TridentConv':
                torch.nn.init.kaiming_uniform_(module.weight, a=1)
        model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    inputs, samples = family_batch(model, family.needs)
    for _ in range(2):
        losses = model.loss(inputs, samples)
        assert losses['loss_mimic'] > 0
        total = sum(v for k, v in losses.items() if 'loss' in k
                    and isinstance(v, torch.Tensor)) + sum(
            sum(v) for k, v in losses.items() if 'loss' in k
            and isinstance(v, list))
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    ckpt = tmp_path / 'iter_2.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=2)), ckpt)
    cfg_path, ckpt_path = export_student(str(out), str(ckpt),
                                         str(tmp_path / 'export'))
    exported_cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope(exported_cfg.default_scope):
        exported = MODELS.build(exported_cfg.model)
    exported.load_state_dict(
        safe_load_checkpoint(ckpt_path)['state_dict'], strict=True)
    # the student's own class, not TwoStageDetector
    assert type(exported).__name__ == Config.fromfile(student).model.type
    if 'no_cpu_predict' in family.needs and not torch.cuda.is_available():
        return
    model.eval()
    exported.eval()
    inputs, samples = family_batch(model, (), seed=1)
    theirs, ours = predictions(exported, inputs, samples), \
        predictions(model, inputs, samples)
    assert ours and theirs.keys() == ours.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.slow
@pytest.mark.parametrize('family', FAMILIES, ids=[f.name for f in FAMILIES])
def test_family_as_the_student(family, tmp_path):
    if family.refused is None:
        run_family(family, tmp_path)
        return
    from mmmimic.utils.cli import UsageError
    with pytest.raises(UsageError) as info:
        run_family(family, tmp_path)
    message = str(info.value)
    assert family.refused in message and '\n' not in message, message


def test_the_docs_table_is_this_table():
    """docs/compatibility.md lists every family with its config and outcome,
    as families.py (which the slow test above runs) says."""
    rows = {}
    with open(DOCS_TABLE, encoding='utf-8') as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) >= 4 and cells[1].startswith('`mmdet::'):
                rows[cells[0]] = (cells[1].strip('`'), cells[2])
    assert list(rows) == [f.name for f in FAMILIES]
    for family in FAMILIES:
        config, outcome = rows[family.name]
        assert config == f'mmdet::{family.config}', family.name
        if family.refused is None:
            assert outcome == 'works', family.name
        else:
            assert re.match(r'refused\b', outcome), family.name
