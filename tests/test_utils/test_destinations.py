"""Class "nothing a tool depends on is overwritten": every writer refuses a
destination that is an input or a file the inputs load (a config's _base_
chain, the configs and checkpoints it names), with or without --overwrite,
before any work. A new writer is covered by adding it to WRITERS."""
import os.path as osp

import pytest

from mmmimic.utils.atomic import DestinationError, check_destination
from mmmimic.utils.input_files import loaded_files

from ..conftest import REPO_ROOT, run_tool_in_process

DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
MIMIC = osp.join(DEMO, 'mimic_faster-rcnn_mobilenetv2-w0.5-w1.0_demo-caltech.py')
STUDENT = osp.join(DEMO, 'faster-rcnn_mobilenetv2-w0.5_demo-caltech.py')
TEACHER = osp.join(DEMO, 'faster-rcnn_mobilenetv2-w1.0-in1k_demo-caltech.py')
SHARED_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'schedules',
                       'demo_iters.py')


def test_a_configs_loaded_files_are_its_base_chain_and_named_files(tmp_path):
    files = loaded_files([MIMIC])
    assert files[0] == MIMIC
    assert {STUDENT, TEACHER, SHARED_BASE} <= set(files)
    assert osp.join(REPO_ROOT, 'checkpoints', 'demo',
                    osp.basename(TEACHER)[:-3] + '.pth') in files
    # an mmdet:: base is found in the installed package
    config = tmp_path / 'mine.py'
    config.write_text("_base_ = 'mmdet::faster_rcnn/"
                      "faster-rcnn_r50_fpn_1x_coco.py'\n")
    assert any(f.endswith(osp.join('_base_', 'default_runtime.py'))
               for f in loaded_files([str(config)]))


@pytest.mark.parametrize('out', [MIMIC, STUDENT, SHARED_BASE],
                         ids=['input', 'base', 'shared base'])
@pytest.mark.parametrize('overwrite', [False, True])
def test_check_destination_refuses_what_the_inputs_load(out, overwrite):
    with pytest.raises(DestinationError, match='(also an input|a file the '
                       'inputs load).*does not allow this'):
        check_destination(out, [MIMIC], overwrite=overwrite)


def test_a_name_longer_than_file_systems_allow_is_refused(tmp_path):
    out = str(tmp_path / ('x' * 252 + '.pkl'))
    with pytest.raises(DestinationError, match='a file name of 256 bytes; '
                       'file systems allow at most 255'):
        check_destination(out, [MIMIC], overwrite=True)
    check_destination(str(tmp_path / ('x' * 251 + '.pkl')), [MIMIC])


def run(*argv):
    # in this process, from the repository root, as run_tool ends it
    return run_tool_in_process([osp.join(REPO_ROOT, argv[0])] +
                               list(argv[1:]))


#: each writer's command with its output on something the inputs load
WRITERS = {
    'tools/test.py --out (the checkpoint)': lambda tmp: (
        osp.join('tools', 'test.py'), STUDENT, str(tmp / 'ck.pkl'),
        '--out', str(tmp / 'ck.pkl')),
    'make_mimic_config.py OUT (a shared base)': lambda tmp: (
        osp.join('tools', 'misc', 'make_mimic_config.py'), STUDENT, TEACHER,
        str(tmp / 't.pth'), SHARED_BASE, '--overwrite'),
    'export_onnx.py OUT (the checkpoint)': lambda tmp: (
        osp.join('tools', 'deployment', 'export_onnx.py'), STUDENT,
        str(tmp / 'ck.pkl'), str(tmp / 'ck.pkl'), '--overwrite'),
    'quantize_onnx.py OUT (the config)': lambda tmp: (
        osp.join('tools', 'deployment', 'quantize_onnx.py'), STUDENT,
        str(tmp / 'm.onnx'), STUDENT, '--overwrite'),
    'extract_student.py OUT_DIR --name (the base the config inherits)':
        lambda tmp: (
            osp.join('tools', 'model_converters', 'extract_student.py'),
            MIMIC, str(tmp / 'ck.pkl'), DEMO, '--name',
            osp.basename(STUDENT)[:-3], '--overwrite'),
    'print_config.py --save-path (a shared base)': lambda tmp: (
        osp.join('tools', 'misc', 'print_config.py'), MIMIC, '--save-path',
        SHARED_BASE),
    'plot_mr_curves.py --out (a result file)': lambda tmp: (
        osp.join('tools', 'analysis_tools', 'plot_mr_curves.py'),
        str(tmp / 'ann.json'), str(tmp / 'ck.pkl'), '--out',
        str(tmp / 'ck.pkl')),
    'vis_mimic_features.py --out (the checkpoint)': lambda tmp: (
        osp.join('tools', 'analysis_tools', 'vis_mimic_features.py'), MIMIC,
        str(tmp / 'ck.pkl'), str(tmp / 'img.jpg'), '--out',
        str(tmp / 'ck.pkl')),
    'rcnn_on_mimic_regions.py --out (a shared base)': lambda tmp: (
        osp.join('tools', 'analysis_tools', 'rcnn_on_mimic_regions.py'),
        MIMIC, str(tmp / 'ck.pkl'), '--out', SHARED_BASE, '--overwrite'),
    'train.py --work-dir (where the config is: its merged copy)': lambda tmp: (
        osp.join('tools', 'train.py'), str(tmp / 'inherits.py'),
        '--work-dir', str(tmp)),
    'test.py --show-dir (the test images)': lambda tmp: (
        osp.join('tools', 'test.py'), STUDENT, str(tmp / 'ck.pkl'),
        '--work-dir', str(tmp / 'w'), '--show-dir', str(tmp / 'images'),
        '--cfg-options', f'test_dataloader.dataset.data_root={tmp}/'),
    'mimic_loss_share.py --out (an annotation file the options name)':
    lambda tmp: (
        osp.join('tools', 'analysis_tools', 'mimic_loss_share.py'), MIMIC,
        '--out', str(tmp / 'annotations' / 'train-10x.json'),
        '--cfg-options', f'train_dataloader.dataset.data_root={tmp}/'),
    'mimic_loss_share.py --out (a shared base)': lambda tmp: (
        osp.join('tools', 'analysis_tools', 'mimic_loss_share.py'), MIMIC,
        '--checkpoint', str(tmp / 'ck.pkl'), '--out', SHARED_BASE),
}


@pytest.mark.parametrize('writer', sorted(WRITERS))
def test_no_writer_overwrites_what_its_inputs_load(writer, tmp_path):
    (tmp_path / 'ck.pkl').write_bytes(b'the checkpoint under test')
    (tmp_path / 't.pth').write_bytes(b'a teacher')
    (tmp_path / 'm.onnx').write_bytes(b'an onnx file')
    (tmp_path / 'inherits.py').write_text(f"_base_ = '{STUDENT}'\n")
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'train-10x.json').write_text('{}')
    before = {p: open(p).read() for p in (SHARED_BASE, STUDENT)}
    proc = run(*WRITERS[writer](tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'does not allow this' in proc.stderr, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert (tmp_path / 'ck.pkl').read_bytes() == b'the checkpoint under test'
    assert {p: open(p).read() for p in before} == before
