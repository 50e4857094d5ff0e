"""Checkpoints are read with weights_only=True: code in a pickle never runs."""
import os.path as osp
import pathlib
import re

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import UnsafeCheckpointError, safe_load_checkpoint
from mmmimic.utils.checkpoint_compat import weights_only_accepts_named_globals
from mmmimic.utils.safe_load import NewerTorchCheckpointError

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
        model = MODELS.build(ConfigDict(distiller_cfg(path)))
        with pytest.raises(UnsafeCheckpointError,
                           match='model.teacher_ckpt=.*teacher.pth'):
            model.train()
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


# -- both loading paths: torch's allow-list and mmmimic's restricted unpickler --
# torch's weights_only loader is mmmimic's path only where it takes MMEngine's
# globals by name (torch >= 2.6); elsewhere mmmimic uses its restricted unpickler
NAMED_GLOBALS = weights_only_accepts_named_globals()
METHODS = [pytest.param('weights_only', marks=pytest.mark.skipif(
    not NAMED_GLOBALS, reason=f'torch {torch.__version__} cannot allow-list '
    'globals by name (torch < 2.6): mmmimic uses the restricted unpickler')),
    'restricted']


class RunsAShellCommand:
    """Unpickling this calls ``os.system``."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f'touch {self.marker}', ))


def runner_like_checkpoint(path):
    """What an MMEngine runner writes: message hub with HistoryBuffers and
    numpy values, optimizer and scheduler states (a Counter), meta."""
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_safe_load_runner_like')
    for i in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (i + 1)))
        hub.update_scalar('train/lr', 0.02)
    hub.update_info('iter', 3)
    hub.update_info('np_scalar', np.int64(7))
    layer = torch.nn.Linear(2, 2)
    optim = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    layer(torch.ones(1, 2)).sum().backward()
    optim.step()
    sched = torch.optim.lr_scheduler.MultiStepLR(optim, milestones=[2, 4])
    torch.save(dict(
        meta=dict(seed=np.int64(3), iter=3, dataset_meta=dict(classes=('a', )),
                  hist=np.arange(4.0)),
        state_dict=layer.state_dict(), optimizer=optim.state_dict(),
        param_schedulers=[sched.state_dict()],
        message_hub=hub.state_dict()), path)
    return layer.state_dict()


@pytest.mark.parametrize('method', METHODS)
def test_runner_checkpoint_loads_on_both_paths(tmp_path, method):
    path = tmp_path / 'iter_3.pth'
    weights = runner_like_checkpoint(path)
    ckpt = safe_load_checkpoint(str(path), method=method)
    assert torch.equal(ckpt['state_dict']['weight'], weights['weight'])
    buffers = ckpt['message_hub']['log_scalars']
    assert buffers['train/loss'].mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert ckpt['message_hub']['runtime_info']['np_scalar'] == 7
    assert ckpt['meta']['hist'].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert dict(ckpt['param_schedulers'][0]['milestones']) == {2: 1, 4: 1}


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('evil', [CreatesAFile, RunsAShellCommand])
def test_code_running_pickle_refused_on_both_paths(tmp_path, method, evil):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1)}, meta=evil(marker)), path)
    with pytest.raises(UnsafeCheckpointError,
                       match=r"CHECKPOINT='.*evil.pth': refused to load.*"
                       r'(system|pathlib).*nothing from it was executed'):
        safe_load_checkpoint(str(path), key='CHECKPOINT', method=method)
    assert not marker.exists()


@pytest.mark.parametrize('method', METHODS)
def test_restricted_getattr_refused_on_both_paths(tmp_path, method):
    """``getattr`` is allowed for HistoryBuffer's statistics only."""
    import numpy as np

    class GetattrOfAnAllowedClass:
        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrOfAnAllowedClass()}, path)
    with pytest.raises(UnsafeCheckpointError, match='getattr.*tofile'):
        safe_load_checkpoint(str(path), method=method)


@pytest.mark.parametrize('method', METHODS)
def test_legacy_format_loads_on_both_paths(tmp_path, method):
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.arange(3.0)}}, path,
               _use_new_zipfile_serialization=False)
    ckpt = safe_load_checkpoint(str(path), method=method)
    assert ckpt['state_dict']['w'].tolist() == [0.0, 1.0, 2.0]


def test_restricted_path_is_the_default_where_torch_lacks_named_globals(
        tmp_path, monkeypatch):
    """torch < 2.6 (probe False): the restricted unpickler, and the runner's
    allow-list is left alone (a pair there breaks every weights_only load)."""
    from mmmimic.utils import checkpoint_compat, safe_load
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(safe_load, 'weights_only_accepts_named_globals',
                        lambda: False)
    monkeypatch.setattr(checkpoint_compat, 'weights_only_accepts_named_globals',
                        lambda: False)
    monkeypatch.setattr(torch, 'load', spy)
    monkeypatch.setattr(torch.serialization, 'add_safe_globals',
                        lambda *a: pytest.fail('allow-list changed'),
                        raising=False)
    assert safe_load.default_method() == 'restricted'
    path = tmp_path / 'iter_3.pth'
    runner_like_checkpoint(path)
    safe_load_checkpoint(str(path))
    checkpoint_compat.allow_mmengine_checkpoint_globals()   # a no-op here
    assert calls[-1]['weights_only'] is False
    assert calls[-1]['pickle_module'] is checkpoint_compat.restricted_pickle


def test_capability_probe_on_this_torch():
    """The probe agrees with the release notes: named globals from 2.6 on."""
    from packaging.version import Version

    from mmmimic.utils.safe_load import default_method
    get = getattr(torch.serialization, 'get_safe_globals', list)   # 2.5+
    before = list(get())
    expected = Version(torch.__version__.split('+')[0]) >= Version('2.6')
    assert weights_only_accepts_named_globals() is expected
    assert default_method() == ('weights_only' if expected else 'restricted')
    assert list(get()) == before


@pytest.mark.skipif(not NAMED_GLOBALS, reason='simulates torch 2.4-2.5 on a '
                    'torch >= 2.6')
def test_capability_probe_false_when_pairs_break_torch(monkeypatch):
    """torch 2.4-2.5 read every allow-list entry as an object: the probe sees
    the AttributeError and says False, leaving the allow-list as it was."""
    from torch import _weights_only_unpickler as wou

    from mmmimic.utils import checkpoint_compat

    def old_style():
        return {f'{f.__module__}.{f.__name__}': f
                for f in wou._marked_safe_globals_set}

    monkeypatch.setattr(wou, '_get_user_allowed_globals', old_style)
    checkpoint_compat.weights_only_accepts_named_globals.cache_clear()
    try:
        before = list(torch.serialization.get_safe_globals())
        assert checkpoint_compat.weights_only_accepts_named_globals() is False
        assert list(torch.serialization.get_safe_globals()) == before
        monkeypatch.delattr(torch.serialization, 'safe_globals')  # torch 2.4
        checkpoint_compat.weights_only_accepts_named_globals.cache_clear()
        assert checkpoint_compat.weights_only_accepts_named_globals() is False
    finally:
        monkeypatch.undo()
        checkpoint_compat.weights_only_accepts_named_globals.cache_clear()
    assert checkpoint_compat.weights_only_accepts_named_globals() is True


@pytest.mark.parametrize('method', METHODS)
def test_url_is_downloaded_once_then_loaded_safely(tmp_path, monkeypatch,
                                                   method):
    """No ``load_state_dict_from_url`` (no ``weights_only`` on torch 2.0): the
    download goes to torch's hub cache, then through the same reader."""
    import shutil
    src = tmp_path / 'src.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}}, src)
    downloads = []

    def fake_download(url, dst, progress=True):
        downloads.append(url)
        shutil.copy(src, dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    url = 'https://example.org/models/teacher_1x.pth'
    for _ in range(2):
        ckpt = safe_load_checkpoint(url, method=method)
        assert torch.equal(ckpt['state_dict']['w'], torch.ones(1))
    assert downloads == [url]
    assert (tmp_path / 'hub' / 'checkpoints' / 'teacher_1x.pth').is_file()


def test_failed_download_names_the_key(tmp_path, monkeypatch):
    from urllib.error import URLError

    from mmmimic.utils.safe_load import CheckpointNotFoundError

    def fail(url, dst, progress=True):
        raise URLError('unreachable')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fail)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    with pytest.raises(CheckpointNotFoundError,
                       match="model.teacher_ckpt='https://x.org/t.pth': "
                       'cannot download'):
        safe_load_checkpoint('https://x.org/t.pth', key='model.teacher_ckpt')


# -- damaged files and files that are no checkpoint -----------------------------
def good_zip(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.randn(64, 64)}}, path)
    return path.read_bytes()


def damaged_cases(tmp_path):
    import random
    data = good_zip(tmp_path)
    noise = random.Random(0).randbytes(4096)
    noise = b'\x13' + noise[1:]   # not a zip or pickle by its first byte
    flipped = bytearray(data)
    start = data.index(b'data/0') + 200   # inside the tensor's stored bytes
    for i in range(start, start + 64):
        flipped[i] ^= 0xFF
    return {
        'empty': (b'', r'not a checkpoint: an empty file'),
        'truncated zip': (data[:len(data) // 2],
                          r'truncated or damaged zip archive'),
        'text': (b'<html><body>404 Not Found</body></html>\n' * 3,
                 r"a text file of \d+ bytes.*starts with '<html>"),
        'lfs pointer': (b'version https://git-lfs.github.com/spec/v1\n'
                        b'oid sha256:ab\nsize 123\n', r'git lfs pull'),
        'random bytes': (noise, r'not a zip or pickle: 4096 bytes of unknown '
                         r'data starting with 13 '),
        'truncated pickle': (b'\x80\x02}q\x00(X\x01',
                             r"pickle \(torch's legacy format\) that is "
                             r'truncated'),
        'random pickle-like bytes': (b'\x80\x02' + noise[:200],
                                     r"pickle \(torch's legacy format\)"),
        'zip without data.pkl': (None, r'zip archive without data.pkl'),
        'flipped bytes in a tensor': (bytes(flipped),
                                      r'zip member .* fails its check'),
    }


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('case', [
    'empty', 'truncated zip', 'text', 'lfs pointer', 'random bytes',
    'truncated pickle', 'random pickle-like bytes', 'zip without data.pkl',
    'flipped bytes in a tensor'])
def test_damaged_checkpoint_says_what_was_found(tmp_path, method, case):
    import zipfile

    from mmmimic.utils.safe_load import DamagedCheckpointError
    data, expected = damaged_cases(tmp_path)[case]
    path = tmp_path / 'bad.pth'
    if data is None:
        with zipfile.ZipFile(path, 'w') as archive:
            archive.writestr('notes.txt', 'hello')
    else:
        path.write_bytes(data)
    with pytest.raises(DamagedCheckpointError) as info:
        safe_load_checkpoint(str(path), key='CHECKPOINT', method=method)
    message = str(info.value)
    assert message.startswith(f"CHECKPOINT='{path}': not a")
    assert re.search(expected, message), message
    assert 'run code' not in message and 'refused' not in message


def test_damaged_remote_object_is_described(monkeypatch):
    from mmmimic.utils import safe_load
    monkeypatch.setattr(safe_load, 'read_bytes', lambda uri: b'')
    with pytest.raises(safe_load.DamagedCheckpointError,
                       match=r"load_from='s3://b/k.pth'.*empty file"):
        safe_load_checkpoint('s3://b/k.pth', key='load_from')


def test_missing_file_names_the_key():
    from mmmimic.utils.safe_load import CheckpointNotFoundError
    with pytest.raises(CheckpointNotFoundError,
                       match=r"CHECKPOINT='nope.pth': no such file \(looked "
                       r'for /'):
        safe_load_checkpoint('nope.pth', key='CHECKPOINT')


# torch 2.14.1 wrote this file (a uint16 tensor: torch._utils._rebuild_tensor_v3
# and torch.uint16, which came in torch 2.3)
NEWER_TORCH_FILE = osp.join(osp.dirname(__file__), '..', 'data',
                            'uint16_saved_by_torch_2.14.pth')


def fake_future_rebuild(*args):
    return torch.zeros(1)


class FromAFutureTorch:
    """Pickles as a call of ``torch._utils._rebuild_tensor_v99``, a name no
    torch has: what a file of a later torch looks like to this one."""

    def __reduce__(self):
        return (fake_future_rebuild, ())


@pytest.mark.parametrize('method', METHODS)
def test_checkpoint_of_a_newer_torch_is_named(tmp_path, method):
    path = tmp_path / 'future.pth'
    fake_future_rebuild.__module__ = 'torch._utils'
    fake_future_rebuild.__qualname__ = '_rebuild_tensor_v99'
    torch._utils._rebuild_tensor_v99 = fake_future_rebuild
    try:
        torch.save(dict(state_dict={'w': FromAFutureTorch()}), path)
    finally:
        del torch._utils._rebuild_tensor_v99
        fake_future_rebuild.__module__ = __name__
        fake_future_rebuild.__qualname__ = 'fake_future_rebuild'
    with pytest.raises(NewerTorchCheckpointError, match=(
            r"model.teacher_ckpt='.*future.pth': saved by a newer torch than "
            rf'this one \({re.escape(torch.__version__)}\): its pickle asks '
            r'for torch._utils._rebuild_tensor_v99, which this torch does not '
            r'have.*Install a newer torch')):
        safe_load_checkpoint(str(path), key='model.teacher_ckpt',
                             method=method)


def test_uint16_checkpoint_of_torch_2_14_loads_or_is_named():
    """Real file, real stacks: torch >= 2.3 reads it; torch 2.1 (make
    test-compat) gets the newer-torch message, not 'could run code'."""
    if hasattr(torch, 'uint16'):
        state = safe_load_checkpoint(NEWER_TORCH_FILE)['state_dict']
        assert state['w'].dtype == torch.uint16
        assert state['w'].to(torch.int32).tolist() == [0, 1, 2, 65535]
    else:
        with pytest.raises(NewerTorchCheckpointError,
                           match=r"CHECKPOINT='.*uint16_saved_by_torch_2.14"
                           r".pth': saved by a newer torch .*asks for torch"):
            safe_load_checkpoint(NEWER_TORCH_FILE, key='CHECKPOINT')


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('protocol', [2, 3, 4, 5])
def test_a_plain_pickle_that_runs_code_is_unsafe_at_every_protocol(
        tmp_path, method, protocol):
    # torch's unpickler stops at a protocol 4 FRAME before it sees the global:
    # the opcodes are read without running them to tell code from damage
    import pickle
    marker = tmp_path / 'pwned'
    path = tmp_path / f'evil_{protocol}.pth'
    with open(path, 'wb') as f:
        pickle.dump(dict(state_dict={}, meta=RunsAShellCommand(marker)), f,
                    protocol=protocol)
    with pytest.raises(UnsafeCheckpointError,
                       match=r"X='.*evil_\d.pth': refused to load.*"
                       r'(posix|os|nt)\.system'):
        safe_load_checkpoint(str(path), key='X', method=method)
    assert not marker.exists()
    # a plain pickle of tensors only is not called unsafe
    plain = tmp_path / 'plain.pkl'
    with open(plain, 'wb') as f:
        pickle.dump(dict(w=[1.0, 2.0]), f, protocol=protocol)
    from mmmimic.utils.safe_load import code_globals
    assert code_globals(str(plain)) == []
