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
