"""Checkpoints are read with weights_only=True: code in a pickle never runs."""
import pathlib

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import UnsafeCheckpointError, safe_load_checkpoint

from ..test_models._tiny import distiller_cfg


class CreatesAFile:
    """Unpickling this calls ``pathlib.Path.touch(marker)``."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker, ))


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1)},
                    meta=dict(note=CreatesAFile(marker))), path)
    assert not marker.exists()
    return str(path), marker


def test_malicious_checkpoint_is_refused_and_runs_nothing(malicious):
    path, marker = malicious
    with pytest.raises(UnsafeCheckpointError,
                       match='refused to load.*pathlib.*nothing from it'):
        safe_load_checkpoint(path)
    assert not marker.exists()


def test_distiller_refuses_a_malicious_teacher_checkpoint(malicious):
    path, marker = malicious
    with DefaultScope.overwrite_default_scope('mmmimic'):
        with pytest.raises(UnsafeCheckpointError, match='teacher.pth'):
            MODELS.build(ConfigDict(distiller_cfg(path)))
    assert not marker.exists()


def test_weights_and_mmengine_metadata_load(tmp_path):
    import numpy as np
    from mmengine.logging import HistoryBuffer
    path = tmp_path / 'ok.pth'
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save(dict(state_dict={'w': torch.ones(2)},
                    meta=dict(seed=np.int64(3), iter=10),
                    message_hub=dict(log_scalars={'loss': buffer})), path)
    ckpt = safe_load_checkpoint(str(path))
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
    assert ckpt['message_hub']['log_scalars']['loss'].mean() == 1.5


def test_missing_file():
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load_checkpoint('nope.pth')
