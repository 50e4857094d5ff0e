"""The argparse types of mmmimic.utils.cli, and the flags that use them:
a number, size or device is refused where it enters, naming the flag."""
import argparse
import os.path as osp
import runpy
import sys

import pytest

from mmmimic.utils.cli import image_size, torch_device

from ..conftest import REPO_ROOT


def test_image_size():
    parse = image_size(32, 8192)
    assert parse('640x480') == '640x480' and parse('1500X1000') == '1500x1000'
    for text, says in (('abc', 'is not a size WxH'), ('640', 'is not a size'),
                       ('0x0', 'between 32 and 8192'),
                       ('640x480x3', 'is not a size'),
                       ('32000x32000', 'between 32 and 8192')):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse(text)


def test_torch_device():
    assert torch_device('cpu') == 'cpu'
    with pytest.raises(argparse.ArgumentTypeError, match='is not a device'):
        torch_device('banana')
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(argparse.ArgumentTypeError,
                           match='has no CUDA device'):
            torch_device('cuda')
    with pytest.raises(argparse.ArgumentTypeError, match='only cpu and cuda'):
        torch_device('meta')


#: script -> (bad flag and value); each refused by argparse, status 2
FLAGS = [
    ('benchmarks/deploy_speed.py', ['--sizes', '0x0']),
    ('benchmarks/deploy_speed.py', ['--models', 'teacher']),
    ('benchmarks/deploy_speed.py', ['--models', 'a=missing.py:missing.pth']),
    ('benchmarks/student_speed.py', ['--sizes', 'abc']),
    ('benchmarks/mimic_loss.py', ['--maps', '40']),
    ('benchmarks/mimic_loss.py', ['--device', 'banana']),
    ('benchmarks/mimic_overhead.py', ['--device', 'banana']),
    ('benchmarks/student_speed.py', ['--device', 'banana']),
    ('tools/analysis_tools/vis_mimic_features.py',
     ['c.py', 'k.pth', 'i.jpg', '--out', 'o.png', '--device', 'banana']),
]


@pytest.mark.parametrize('script, argv', FLAGS,
                         ids=[f'{s} {a[-2]}' for s, a in FLAGS])
def test_flags_use_the_types(script, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', [script] + argv)
    with pytest.raises(SystemExit) as info:
        runpy.run_path(osp.join(REPO_ROOT, script), run_name='__main__')
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f'argument {argv[-2]}' in err and 'Traceback' not in err, err


def test_a_flag_that_needs_another_is_refused(monkeypatch, capsys):
    script = osp.join(REPO_ROOT, 'benchmarks', 'deploy_speed.py')
    monkeypatch.setattr(sys, 'argv', [script, '--float-backbone'])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(script, run_name='__main__')
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert '--float-backbone chooses what --int8 quantizes' in err, err


def test_an_image_argument_is_checked(tmp_path):
    import numpy as np
    from mmcv import imwrite

    from mmmimic.utils.cli import UsageError
    from mmmimic.utils.input_files import check_image_file
    good = tmp_path / 'good.png'
    imwrite(np.zeros((8, 8, 3), np.uint8), str(good))
    check_image_file(str(good))
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'text.jpg').write_text('not an image')
    for name in ('empty.jpg', 'text.jpg'):
        with pytest.raises(UsageError, match=f'^IMAGE .*{name}: not an image '
                           'OpenCV can read'):
            check_image_file(str(tmp_path / name))
    with pytest.raises(FileNotFoundError, match='IMAGE .*gone.jpg: no such'):
        check_image_file(str(tmp_path / 'gone.jpg'))
