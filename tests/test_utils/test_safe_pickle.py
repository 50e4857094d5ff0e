"""Class "no file read runs code": every reader of a pickle from a user's path
(library function, tool, demo driver) refuses a planted code-running pickle,
naming the file, and nothing of it runs; real prediction dumps load. A new
reader is covered by adding it to READERS."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from mmmimic.utils.safe_pickle import (
    DamagedPickleError,
    UnsafePickleError,
    safe_load_pickle,
)

from ..conftest import REPO_ROOT, run_tool_in_process


class RunsCode:
    """Unpickling this calls a function: here, creating the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker, ))


class StorageRunsCode(RunsCode):
    """The same, hidden in a tensor storage's bytes."""

    def __reduce__(self):
        import torch.storage
        return (torch.storage._load_from_bytes,
                (pickle.dumps(RunsCode(self.marker)), ))


def dump() -> list:
    """What tools/test.py --out writes: per image, tensors in plain dicts."""
    return [dict(img_id=i, img_path=f'{i}.jpg', ori_shape=(480, 640),
                 scale_factor=(1.0, 1.0), pred_instances=dict(
                     bboxes=torch.tensor([[10., 20., 50., 120.]]),
                     scores=torch.tensor([0.9]), labels=torch.tensor([0])),
                 extra=np.float32(0.5)) for i in range(2)]


def read_with_library(path: str, tmp_path) -> None:
    safe_load_pickle(path, 'prediction dump')


def read_with_run_demo(path: str, tmp_path) -> None:
    # tools/run_demo.py scores every prediction dump of a work dir
    # (also under --report-only) through mmmimic.demo.data.reasonable()
    from mmmimic.demo.data import reasonable
    reasonable(str(tmp_path), path)


def cli(*args):
    def read(path: str, tmp_path) -> None:
        argv = [a.replace('PKL', path) for a in args]
        proc = run_tool_in_process(argv, cwd=str(tmp_path))
        if proc.returncode != 0:
            # one line, the tool's own message (no traceback)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and 'Traceback' not in proc.stderr, \
                proc.stderr[-2000:]
            raise UnsafePickleError(lines[0]) if 'asks for code' in lines[0] \
                else DamagedPickleError(lines[0])
    return read


TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')
#: every reader of a pickle from a user's path: name -> read(path, tmp_path)
READERS = {
    'safe_load_pickle': read_with_library,
    'mmmimic.demo.data.reasonable (run_demo.py --report-only)':
        read_with_run_demo,
    'compare_predictions.py': cli(osp.join(TOOLS, 'compare_predictions.py'),
                                  'PKL', 'PKL'),
    'plot_mr_curves.py': cli(osp.join(TOOLS, 'plot_mr_curves.py'),
                             'ann.json', 'PKL', '--out', 'x.png'),
}


@pytest.mark.parametrize('planted', [RunsCode, StorageRunsCode],
                         ids=['global', 'in a storage'])
@pytest.mark.parametrize('reader', sorted(READERS))
def test_no_reader_runs_a_planted_pickle(reader, planted, tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'predictions.pkl'
    path.write_bytes(pickle.dumps([planted(str(marker))], protocol=2))
    with pytest.raises(UnsafePickleError, match='predictions.pkl asks for '
                       'code'):
        READERS[reader](str(path), tmp_path)
    assert not marker.exists(), f'{reader} ran the pickle'


def test_real_dumps_load_and_damaged_ones_are_named(tmp_path):
    path = tmp_path / 'p.pkl'
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path.write_bytes(pickle.dumps(dump(), protocol=protocol))
        loaded = safe_load_pickle(str(path))
        assert torch.equal(loaded[1]['pred_instances']['bboxes'],
                           dump()[1]['pred_instances']['bboxes'])
        assert loaded[0]['extra'] == np.float32(0.5)
    path.write_bytes(pickle.dumps(dump())[:40])
    with pytest.raises(DamagedPickleError, match='p.pkl is not a readable '
                       'pickle'):
        safe_load_pickle(str(path), 'dump')
    with pytest.raises(FileNotFoundError, match='dump .*missing.pkl: no such'):
        safe_load_pickle(str(tmp_path / 'missing.pkl'), 'dump')
