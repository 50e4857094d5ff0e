"""atomic_path: all or nothing, usual permissions, extension kept."""
import os

import pytest

from mmmimic.utils import atomic_path, atomic_write_bytes


def test_success_renames_with_usual_permissions(tmp_path):
    target = tmp_path / 'sub' / 'a.json'
    atomic_write_bytes(str(target), b'{}')
    assert target.read_bytes() == b'{}'
    mask = os.umask(0)
    os.umask(mask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~mask
    assert os.listdir(target.parent) == ['a.json']


def test_failure_leaves_nothing(tmp_path):
    target = tmp_path / 'b.png'
    target.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            assert tmp.endswith('-b.png')
            open(tmp, 'wb').write(b'half')
            raise RuntimeError('interrupted')
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['b.png']


def test_check_destination_protects_inputs_and_existing_files(tmp_path):
    from mmmimic.utils.atomic import DestinationError, check_destination
    source = tmp_path / 'in.py'
    source.write_text('x = 1')
    link = tmp_path / 'link.py'
    link.symlink_to(source)
    for out in (source, link, tmp_path / '.' / 'in.py'):
        with pytest.raises(DestinationError, match='is also an input'):
            check_destination(str(out), [str(source)], overwrite=True)
    with pytest.raises(DestinationError, match='exists; pass --force'):
        check_destination(str(source), [], flag='--force')
    with pytest.raises(DestinationError, match='is a folder'):
        check_destination(str(tmp_path), [], overwrite=True)
    with pytest.raises(DestinationError, match='must end in .onnx'):
        check_destination(str(tmp_path / 'a.pth'), [], suffix='.onnx')
    formats = ('.py', '.json', '.yaml', '.yml')
    with pytest.raises(DestinationError,
                       match=r'a.txt: the output must end in .py, .json, '
                       r'.yaml or .yml$'):
        check_destination(str(tmp_path / 'a.txt'), [], suffix=formats)
    check_destination(str(tmp_path / 'a.YML'), [], suffix=formats)
    check_destination(str(tmp_path / 'a.ONNX'), [], suffix='.onnx')
    check_destination(str(source), [], overwrite=True)
    check_destination(str(tmp_path / 'new.py'), [str(source)])
