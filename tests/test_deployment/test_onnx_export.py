"""The student as one ONNX file: ONNX Runtime gives the detections PyTorch
gives (one level, half input with its deconvolution, FPN levels, a mimic
run's student), with standard operators only; refusals leave no file."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from ..conftest import REPO_ROOT

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

from mmmimic.deployment import (  # noqa: E402
    OnnxExportError,
    UnsupportedForOnnx,
    export_onnx,
)
from mmmimic.deployment.compare import match_detections  # noqa: E402
from mmmimic.deployment.onnx_graph import onnx_ops  # noqa: E402
from mmmimic.deployment.onnx_input import UINT8_INPUT  # noqa: E402
from mmmimic.deployment.onnx_profile import (  # noqa: E402
    UNMAPPED,
    onnx_predict_fn,
    onnx_session,
    stage_profile,
)

register_all_modules(init_default_scope=False)
CONFIGS = osp.join(REPO_ROOT, 'configs')
# every detection the RoI head scores, so that random weights give many
EVERY_BOX = {'model.test_cfg.rcnn.score_thr': 0.0,
             'model.test_cfg.rcnn.max_per_img': 1000}


def save_initial(config: str, folder, seed: int = 0) -> str:
    """The config's model with seeded initial weights, as a checkpoint."""
    cfg = Config.fromfile(config)
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    if cfg.model.get('backbone', {}).get('init_cfg'):
        cfg.model.backbone.init_cfg = None
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    # Initial weights give ties that trained ones do not, and the order of
    # equal scores decides what NMS keeps: BatchNorm's initial statistics
    # saturate ReLU6 (equal features), and mmdet initialises the heads'
    # classifiers and regressors near zero (equal scores). Set the
    # statistics from a few images and spread the heads, as training does.
    for name, param in model.named_parameters():
        if ('fc_' in name or 'rpn_cls' in name or 'rpn_reg' in name) and \
                param.dim() >= 2:
            torch.nn.init.normal_(param, std=0.05)
    calibrate_batchnorm(model, seed)
    path = str(folder / f'weights_{seed}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), path)
    return path


def calibrate_batchnorm(model, seed: int) -> None:
    """BatchNorm running statistics of the backbone and neck from three
    seeded noise batches (cumulative averages)."""
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model.extract_feat(torch.randn(2, 3, 96, 128,
                                           generator=generator))
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


def pytorch_detections(config, ckpt, image: np.ndarray):
    """mmdet's own predict on one (H, W, 3) uint8 BGR image."""
    from mmmimic.models.distillers.student_export import deployed_model
    model = deployed_model(config, ckpt, EVERY_BOX)
    height, width = image.shape[:2]
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                scale_factor=(1.0, 1.0))
    tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[tensor], data_samples=[DetDataSample(metainfo=meta)]),
            False)
        pred = model.predict(data['inputs'], data['data_samples'])[0]
    inst = pred.pred_instances
    return inst.bboxes.numpy(), inst.scores.numpy(), inst.labels.numpy()


def export_and_compare(config, ckpt, tmp_path, shape=(96, 128), seed=0):
    out = str(tmp_path / 'model.onnx')
    result = export_onnx(config, ckpt, out, shape=shape,
                         cfg_options=EVERY_BOX)
    proto = onnx.load(out)
    domains = {domain for domain, _ in onnx_ops(proto)}
    assert domains <= {'', 'ai.onnx'}, domains      # no custom operator
    assert {'NonMaxSuppression', 'RoiAlign'} <= set(result['ops'])
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
    session = onnx_session(out, threads=1)
    feed = onnx_predict_fn(session, image).prepare()
    boxes, scores, labels = session.run(None, feed)
    ref_boxes, ref_scores, ref_labels = pytorch_detections(config, ckpt,
                                                           image)
    assert len(ref_boxes) > 5, 'the comparison needs detections'
    assert_same_detections((boxes, scores, labels),
                           (ref_boxes, ref_scores, ref_labels))
    return out, result


def assert_same_detections(got, expected, box_atol=0.05, score_atol=1e-4,
                           share=0.98):
    """The same detections up to float rounding: matched one to one
    (:func:`mmmimic.deployment.compare.match_detections`) for at least
    ``share`` of the larger set. Two float implementations of one network
    (ONNX Runtime's kernels, PyTorch's) round differently; where two boxes
    overlap at nearly the NMS threshold, or two scores nearly tie, that
    rounding can keep one box in one runtime and its neighbour in the
    other, and nothing else. (In CI every detection of every test model
    matched.)"""
    result = match_detections(got, expected, box_atol, score_atol)
    assert result['matched'] >= share * result['larger'], result
    return result


@pytest.mark.parametrize('config', [
    'demo/faster-rcnn_mobilenetv2-w0.5_demo-caltech.py',
    'demo/faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py',
    'students/faster-rcnn_inception-v3-w0.25-s16_60k_caltech.py',
    'demo/ablations/half_input_alone.py',
    'students/faster-rcnn_inception-v3-w0.5-s16-halfinput_60k_caltech.py',
    'students/faster-rcnn_r18_fpn_1x_voc0712.py',
])
def test_onnx_runtime_detects_what_pytorch_detects(config, tmp_path):
    config = osp.join(CONFIGS, config)
    ckpt = save_initial(config, tmp_path)
    export_and_compare(config, ckpt, tmp_path)


def test_a_mimic_run_exports_its_student(tmp_path):
    # the distiller's checkpoint goes through extract_student's path: the
    # half-input student keeps its deconvolution and its input scaling
    config = osp.join(CONFIGS, 'demo', 'ablations', 'half_input_deconv.py')
    ckpt = save_initial(config, tmp_path, seed=1)
    state = torch.load(ckpt, weights_only=False)['state_dict']
    assert any(k.startswith('mimic_adapter') for k in state)
    out, _ = export_and_compare(config, ckpt, tmp_path, seed=1)
    names = {init.name for init in onnx.load(out).graph.initializer}
    assert not any('adapter' in name or 'teacher' in name for name in names)
    assert any('neck' in name for name in names)   # the deconvolution


def test_the_stages_of_the_file_add_up(tmp_path):
    config = osp.join(CONFIGS, 'demo', 'faster-rcnn_mobilenetv2-w0.5_demo-'
                      'caltech.py')
    ckpt = save_initial(config, tmp_path)
    out = str(tmp_path / 'model.onnx')
    export_onnx(config, ckpt, out, shape=(96, 128), cfg_options=EVERY_BOX)
    image = np.zeros((96, 128, 3), np.uint8)
    feed = onnx_predict_fn(onnx_session(out), image).prepare
    stages = stage_profile(out, feed, runs=2)
    assert stages['backbone and neck'] > 0 and stages['RoI extraction'] > 0
    assert stages['RoI head'] > 0 and stages['RPN proposals and NMS'] > 0
    # what the runtime adds by itself (layout changes) stays small
    assert stages[UNMAPPED] < 0.5 * sum(stages.values())


@pytest.mark.parametrize('config', [
    'demo/faster-rcnn_mobilenetv2-w0.5_demo-caltech.py',   # BGR->RGB
    'demo/ablations/half_input_alone.py',   # its resize after the padding
])
def test_the_preprocessing_in_the_graph_changes_no_detection(config,
                                                             tmp_path):
    config = osp.join(CONFIGS, config)
    ckpt = save_initial(config, tmp_path)
    plain, inside = str(tmp_path / 'plain.onnx'), str(tmp_path / 'in.onnx')
    export_onnx(config, ckpt, plain, shape=(96, 128), cfg_options=EVERY_BOX)
    result = export_onnx(config, ckpt, inside, shape=(96, 128),
                         cfg_options=EVERY_BOX, preprocess_in_graph=True)
    assert result['preprocess']['input'] == UINT8_INPUT
    assert 'Pad' in result['ops']    # the operators of the file written
    image_input = onnx.load(inside).graph.input[0]
    assert image_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    rng = np.random.default_rng(0)
    for height, width in ((96, 128), (80, 100)):   # full size, then padded
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        expected = onnx_predict_fn(onnx_session(plain, 1), image)
        expected = onnx_session(plain, 1).run(None, expected.prepare())
        fed = onnx_predict_fn(onnx_session(inside, 1), image).prepare()
        assert fed['image'] is image    # nothing done outside the graph
        got = onnx_session(inside, 1).run(None, fed)
        assert len(expected[0]) > 5
        # the same float32 arithmetic as numpy's: the same detections
        assert_same_detections(got, expected, box_atol=1e-3,
                               score_atol=1e-6, share=1.0)
    # a larger image is refused, not cropped
    with pytest.raises(Exception, match='pre/fixed_shape'):
        onnx_session(inside, 1).run(None, {'image': np.zeros((96, 130, 3),
                                                             np.uint8)})


@pytest.mark.parametrize('config, part', [
    ('students/rfcn_inception-v3-w0.125-s16_60k_caltech.py', 'roi_head'),
])
def test_an_unsupported_head_is_refused_and_nothing_written(config, part,
                                                            tmp_path):
    config = osp.join(CONFIGS, config)
    ckpt = save_initial(config, tmp_path)
    out = tmp_path / 'model.onnx'
    with pytest.raises(UnsupportedForOnnx, match=f'{part} .*no ONNX'):
        export_onnx(config, ckpt, str(out), shape=(96, 128))
    assert list(tmp_path.iterdir()) == [tmp_path / 'weights_0.pth']


def test_destinations_and_options_are_checked_before_any_work(tmp_path):
    config = osp.join(CONFIGS, 'demo',
                      'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py')
    ckpt = save_initial(config, tmp_path)
    existing = tmp_path / 'old.onnx'
    existing.write_bytes(b'keep me')
    with pytest.raises(OnnxExportError, match='exists; pass --overwrite'):
        export_onnx(config, ckpt, str(existing))
    assert existing.read_bytes() == b'keep me'
    with pytest.raises(OnnxExportError, match='is also an input'):
        export_onnx(config, ckpt, ckpt)
    with pytest.raises(OnnxExportError, match='must end in .onnx'):
        export_onnx(config, ckpt, str(tmp_path / 'model.pth'))
    link = tmp_path / 'same.onnx'
    link.symlink_to(ckpt)
    with pytest.raises(OnnxExportError, match='is also an input'):
        export_onnx(config, ckpt, str(link), overwrite=True)
    with pytest.raises(OnnxExportError, match='opset'):
        export_onnx(config, ckpt, str(tmp_path / 'a.onnx'), opset=11)
    with pytest.raises(OnnxExportError, match='multiple of 16'):
        export_onnx(config, ckpt, str(tmp_path / 'a.onnx'), shape=(100, 128))
    with pytest.raises(OnnxExportError, match='two positive integers'):
        export_onnx(config, ckpt, str(tmp_path / 'a.onnx'), shape=(0, 128))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'old.onnx', 'same.onnx', 'weights_0.pth']
    # the default size is the test pipeline's 640x480
    result = export_onnx(config, ckpt, str(existing), overwrite=True)
    assert result['shape'] == (480, 640)
