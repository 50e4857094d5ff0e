"""extract_student: a plain MMDetection model that predicts exactly as the
distiller did."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.apis import DetInferencer, inference_detector, init_detector
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.models.distillers.student_export import ExportError, export_student
from mmmimic.registry import MODELS
from mmmimic.utils import UnsafeCheckpointError

from ...conftest import REPO_ROOT, TINY_CONFIG

MIMIC_CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'tiny_mimic_coco.py')
HALF_INPUT = {'model.student_input_scale': 0.5,
              'model.mimic_adapter.scale_factor': 2}


# its module fixture is made once: the module's tests on one pytest-xdist
# worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group('student_export')


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        teacher = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(iter=6)), path)
    return str(path)


def mimic_run(tmp_path, teacher_ckpt, options):
    """A distiller checkpoint as the runner writes one (weights perturbed so
    that every layer matters), and the config options of its run."""
    options = dict(options, **{'model.teacher_ckpt': teacher_ckpt})
    cfg = Config.fromfile(MIMIC_CONFIG)
    cfg.merge_from_dict(options)
    torch.manual_seed(1)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / 'iter_3.pth'
    from mmengine.logging import HistoryBuffer
    hub = HistoryBuffer()
    hub.update(0.5)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(iter=3, epoch=0, seed=0,
                              dataset_meta=dict(classes=('person', ))),
                    message_hub=dict(log_scalars={'train/loss': hub})), path)
    return str(path), options


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.mark.device
@pytest.mark.parametrize('device', ['cpu', pytest.param('cuda', marks=CUDA)])
@pytest.mark.parametrize('options', [{}, HALF_INPUT],
                         ids=['full-input', 'half-input-training-adapter'])
def test_exported_student_predicts_exactly_as_the_distiller(
        tiny_coco, tmp_path, teacher_ckpt, options, device):
    scaled = bool(options)
    ckpt, options = mimic_run(tmp_path, teacher_ckpt, options)
    cfg_path, student_ckpt = export_student(
        MIMIC_CONFIG, ckpt, str(tmp_path / 'export'), cfg_options=options)

    exported = Config.fromfile(cfg_path)
    assert exported.model.type == 'TwoStageDetector'
    assert 'mmdet.' not in exported.pretty_text
    assert exported.default_scope == 'mmdet'
    for key in ('teacher_config', 'teacher_ckpt', 'mimic_adapter',
                'mimic_loss', 'mimic_sampler', 'student_input_scale'):
        assert key not in exported.model
    saved = torch.load(student_ckpt, weights_only=True)
    assert not any(k.startswith(('mimic_adapter', 'teacher'))
                   for k in saved['state_dict'])
    export_meta = saved['meta']['mmmimic_export']
    assert any(k.startswith('mimic_adapter.') for k in
               export_meta['dropped_keys'])
    assert export_meta['source_iter'] == 3 and len(
        export_meta['source_sha256']) == 64
    if scaled:
        assert exported.model.data_preprocessor.type == \
            'mmmimic.ScaledDetDataPreprocessor'
        assert exported.model.data_preprocessor.input_scale == 0.5
        assert exported.custom_imports.imports == ['mmmimic']
    else:
        assert 'custom_imports' not in exported

    images = sorted(glob.glob(osp.join(tiny_coco, 'images', 'val_*.jpg')))
    distiller_cfg = Config.fromfile(MIMIC_CONFIG)
    distiller_cfg.merge_from_dict(options)
    distiller = init_detector(distiller_cfg, ckpt, device=device)
    expected = inference_detector(distiller, images)
    student = init_detector(cfg_path, student_ckpt, device=device)
    assert student.dataset_meta['classes'] == ('person', )
    got = inference_detector(student, images)
    inferencer = DetInferencer(model=cfg_path, weights=student_ckpt,
                               device=device, show_progress=False)
    via_inferencer = inferencer(images, return_datasamples=True,
                                no_save_pred=True)['predictions']
    assert sum(len(e.pred_instances) for e in expected) > 0
    for e, g, i in zip(expected, got, via_inferencer):
        for other in (g, i):
            for key in ('bboxes', 'scores', 'labels'):
                a, b = e.pred_instances[key], other.pred_instances[key]
                assert a.shape == b.shape, key
                assert (a - b).abs().max() == 0 if len(a) else True, key


def test_not_a_mimic_config(tmp_path, teacher_ckpt):
    with pytest.raises(ExportError, match='is not a FeatureMimicDistiller'):
        export_student(TINY_CONFIG, teacher_ckpt, str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists() or not any(
        (tmp_path / 'out').iterdir())


@pytest.mark.parametrize('name', ['../outside', 'sub/x', '', '..', '/abs',
                                  '.hidden', 'x' * 201])
def test_name_must_stay_inside_out_dir(tmp_path, teacher_ckpt, name):
    # the same rule as extract_student's --name (cli.stem_problem)
    with pytest.raises(ExportError, match='^--name .*file stem'):
        export_student(MIMIC_CONFIG, teacher_ckpt, str(tmp_path / 'out'),
                       name=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_student_alone_checkpoint_under_the_mimic_config_is_refused(
        tmp_path, teacher_ckpt):
    # the same student's weights without the adapter the mimic config
    # trains: a checkpoint of another run, exported before under this name
    path, options = mimic_run(tmp_path, teacher_ckpt, {})
    ckpt = torch.load(path, weights_only=False)
    ckpt['state_dict'] = {k: v for k, v in ckpt['state_dict'].items()
                          if not k.startswith('mimic_adapter.')}
    alone = tmp_path / 'student_alone.pth'
    torch.save(ckpt, alone)
    with pytest.raises(ExportError, match=r"none of the mimic adapter's "
                       r'weights .* not a checkpoint of this mimic run'):
        export_student(MIMIC_CONFIG, str(alone), str(tmp_path / 'out'),
                       cfg_options=options)
    assert not (tmp_path / 'out').exists()


def test_checkpoint_of_another_model(tmp_path, teacher_ckpt):
    with pytest.raises(ExportError, match='does not match'):
        export_student(MIMIC_CONFIG, teacher_ckpt, str(tmp_path / 'out'))
    assert not glob.glob(str(tmp_path / 'out' / '*'))


def test_malicious_checkpoint_is_refused(tmp_path):
    import pathlib

    class Touch:
        def __reduce__(self):
            return (pathlib.Path.touch, (tmp_path / 'pwned', ))

    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=Touch()), path)
    with pytest.raises(UnsafeCheckpointError):
        export_student(MIMIC_CONFIG, str(path), str(tmp_path / 'out'))
    assert not (tmp_path / 'pwned').exists()
    assert not glob.glob(str(tmp_path / 'out' / '*'))


def test_damaged_checkpoint_is_described(tmp_path):
    from mmmimic.utils.safe_load import DamagedCheckpointError
    path = tmp_path / 'cut.pth'
    path.write_text('oops, a log file\n')
    with pytest.raises(DamagedCheckpointError,
                       match=r"CHECKPOINT='.*cut.pth': not a checkpoint: a "
                       r'text file'):
        export_student(MIMIC_CONFIG, str(path), str(tmp_path / 'out'))
    assert not glob.glob(str(tmp_path / 'out' / '*'))


@pytest.mark.slow
def test_extract_student_script(tmp_path, teacher_ckpt):
    ckpt, _ = mimic_run(tmp_path, teacher_ckpt, {})
    proc = subprocess.run(
        [sys.executable,
         osp.join(REPO_ROOT, 'tools', 'model_converters', 'extract_student.py'),
         MIMIC_CONFIG, ckpt, str(tmp_path / 'out'), '--name', 'student'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'out' / 'student.py').is_file()
    assert (tmp_path / 'out' / 'student.pth').is_file()
    with DefaultScope.overwrite_default_scope('mmdet'):
        MODELS.build(ConfigDict(Config.fromfile(
            str(tmp_path / 'out' / 'student.py')).model))


def test_existing_export_is_not_overwritten(tmp_path, teacher_ckpt,
                                            monkeypatch):
    ckpt, options = mimic_run(tmp_path, teacher_ckpt, {})
    out = tmp_path / 'out'
    cfg_path, ckpt_path = export_student(MIMIC_CONFIG, ckpt, str(out),
                                         name='s', cfg_options=options)
    before = osp.getmtime(ckpt_path), (out / 's.py').read_text()
    for existing in ('s.py', 's.pth'):
        other = tmp_path / 'other'
        other.mkdir(exist_ok=True)
        (other / existing).write_text('mine')
        with pytest.raises(FileExistsError, match=rf'{existing} already '
                           r'exist.*--overwrite'):
            export_student(MIMIC_CONFIG, ckpt, str(other), name='s',
                           cfg_options=options)
        assert sorted(p.name for p in other.iterdir()) == [existing]
        (other / existing).unlink()
    # the script: a clean message and exit status, nothing read or written
    import importlib.util
    spec = importlib.util.spec_from_file_location('extract_student', osp.join(
        REPO_ROOT, 'tools', 'model_converters', 'extract_student.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [
        'extract_student.py', MIMIC_CONFIG, 'no/such.pth', str(out), '--name',
        's'])
    from mmmimic.utils.cli import UsageError
    with pytest.raises(UsageError, match=r'.*s.py and .*'
                       r's.pth already exist.*--overwrite'):
        tool.main()
    assert (osp.getmtime(ckpt_path), (out / 's.py').read_text()) == before
    # with overwrite: replaced
    (out / 's.py').write_text('stale')
    export_student(MIMIC_CONFIG, ckpt, str(out), name='s',
                   cfg_options=options, overwrite=True)
    assert (out / 's.py').read_text() == before[1]


def test_export_keeps_the_students_own_detector_class(tmp_path, teacher_ckpt):
    """model.student_type is what the exported config builds; the distiller's
    own keys are derived from its signature (student_type among them)."""
    ckpt, options = mimic_run(tmp_path, teacher_ckpt,
                              {'model.student_type': 'mmdet.FasterRCNN'})
    cfg_path, student_ckpt = export_student(
        MIMIC_CONFIG, ckpt, str(tmp_path / 'export'), cfg_options=options)
    exported = Config.fromfile(cfg_path)
    assert exported.model.type == 'FasterRCNN'
    assert 'student_type' not in exported.model
    model = init_detector(cfg_path, student_ckpt, device='cpu')
    assert type(model).__name__ == 'FasterRCNN'


@pytest.mark.parametrize('student_type', ['mmdet.NoSuchDetector',
                                          'mmdet.RetinaNet'])
def test_student_type_must_be_a_two_stage_detector(teacher_ckpt,
                                                   student_type):
    cfg = Config.fromfile(MIMIC_CONFIG)
    cfg.merge_from_dict({'model.teacher_ckpt': teacher_ckpt,
                         'model.student_type': student_type})
    with DefaultScope.overwrite_default_scope('mmmimic'), pytest.raises(
            ValueError, match=f'model.student_type={student_type!r}: name '
            "the student's own two-stage detector class"):
        MODELS.build(cfg.model)


def test_deployed_model_is_the_export_without_files(tmp_path, teacher_ckpt):
    """deployed_model (what run_demo and the benchmarks time) builds the
    export's config with the export's weights; a plain config loads as is."""
    from mmmimic.models.distillers.student_export import deployed_model
    ckpt, options = mimic_run(tmp_path, teacher_ckpt,
                              {'model.student_type': 'mmdet.FasterRCNN'})
    model = deployed_model(MIMIC_CONFIG, ckpt, options)
    cfg_path, student_ckpt = export_student(
        MIMIC_CONFIG, ckpt, str(tmp_path / 'export'), cfg_options=options)
    saved = torch.load(student_ckpt, weights_only=True)['state_dict']
    assert type(model).__name__ == 'FasterRCNN' and not model.training
    assert model.state_dict().keys() == saved.keys()
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    plain = deployed_model(cfg_path, student_ckpt)
    assert all(torch.equal(v, saved[k]) for k, v in plain.state_dict().items())
