"""One checkpoint reader for every place a checkpoint comes in; never runs code.

Teacher checkpoints, the checkpoint ``tools/test.py`` evaluates and the inputs
of the student export come from elsewhere (a colleague, a model zoo, a copy
that may have been cut short). :func:`safe_load_checkpoint` reads them so that
a pickle can only build tensors, containers and the MMEngine metadata types of
:mod:`.checkpoint_compat`, on every supported torch:

- torch >= 2.6: ``torch.load(weights_only=True)`` with those types added to
  torch's allow-list;
- older torch: ``torch.load(weights_only=False,
  pickle_module=restricted_pickle)``, whose unpickler admits the same list.

Every failure says which of four things happened, naming the config key or
argument that pointed at the file: no such file
(:class:`CheckpointNotFoundError`), not a checkpoint or damaged
(:class:`DamagedCheckpointError`, saying what was found), a pickle that asks
for code (:class:`UnsafeCheckpointError`, nothing of it has run), and -- from
:mod:`.model_checkpoint` -- a checkpoint of another model
(:class:`CheckpointMismatchError`).
"""
import io
import os
import os.path as osp
import pickle
import re
import warnings
import zipfile
from typing import IO, Any, List, Optional, Union
from urllib.parse import urlparse

import torch
from mmengine.fileio import get as read_bytes

from .checkpoint_compat import (
    NewerTorchGlobalError,
    RefusedGlobalError,
    allow_mmengine_checkpoint_globals,
    missing_torch_global,
    restricted_pickle,
    weights_only_accepts_named_globals,
)

ZIP_MAGIC = b'PK\x03\x04'   # torch.save's format since torch 1.6
PICKLE_PROTO = b'\x80'      # torch's legacy format starts with a pickle
METHODS = ('weights_only', 'restricted')


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the key and file."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No file (or object, or URL) at the path given."""


class DamagedCheckpointError(CheckpointError, ValueError):
    """The file is not a checkpoint, or a damaged one (empty, truncated...)."""


class CheckpointMismatchError(CheckpointError, ValueError):
    """A checkpoint of another model: missing, unexpected or reshaped keys."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint whose pickle asks for more than weights and metadata."""


class NewerTorchCheckpointError(DamagedCheckpointError):
    """A checkpoint saved by a newer torch: its pickle asks for a torch global
    (a tensor type or rebuild function) that the installed torch lacks."""


def default_method() -> str:
    """``'weights_only'`` where torch's allow-list takes our entries (torch
    >= 2.6), else ``'restricted'`` (mmmimic's own restricted unpickler)."""
    return 'weights_only' if weights_only_accepts_named_globals() \
        else 'restricted'


def _torch_load(source: Union[str, IO[bytes]], map_location: Any,
                method: str) -> Any:
    if method == 'weights_only':
        allow_mmengine_checkpoint_globals()
        with warnings.catch_warnings():
            # torch warns of a legacy pickle's protocol before refusing or
            # reading it; what matters (refused, and why) is said by us
            warnings.filterwarnings('ignore', message='Detected pickle protocol')
            return torch.load(source, map_location=map_location,
                              weights_only=True)
    return torch.load(source, map_location=map_location, weights_only=False,
                      pickle_module=restricted_pickle)


def _looks_like_text(head: bytes) -> bool:
    printable = sum(32 <= b < 127 or b in b'\t\r\n' for b in head)
    return printable >= 0.95 * len(head)


def not_a_checkpoint(head: bytes, size: int) -> Optional[str]:
    """What the file is, when its first bytes already rule out a checkpoint.

    Args:
        head (bytes): The first bytes of the file (a few hundred).
        size (int): The file's size in bytes.

    Returns:
        str | None: A description ("an empty file", "a text file ...", "not a
        zip or pickle ..."), or None for a zip or a pickle, which may be one.
    """
    if size == 0:
        return 'an empty file (0 bytes)'
    if head.startswith(ZIP_MAGIC) or head.startswith(PICKLE_PROTO):
        return None
    if head.startswith(b'version https://git-lfs'):
        return ('a Git LFS pointer, not the checkpoint itself; run '
                '`git lfs pull` in its repository')
    if _looks_like_text(head):
        snippet = head[:60].decode('utf-8', 'replace').strip()
        return (f'a text file of {size} bytes, not a checkpoint (it starts '
                f'with {snippet!r})')
    return (f'not a zip or pickle: {size} bytes of unknown data starting with '
            f'{head[:8].hex(" ")}')


def describe_damage(source: Union[str, bytes], head: bytes, size: int,
                    error: Optional[BaseException]) -> Optional[str]:
    """What is wrong with a zip (its structure and every member's CRC) or a
    pickle that ``torch.load`` failed on with ``error``, or None if sound."""
    if head.startswith(ZIP_MAGIC):
        try:
            archive = zipfile.ZipFile(
                io.BytesIO(source) if isinstance(source, bytes) else source)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            return (f'a truncated or damaged zip archive ({size} bytes: {exc}); '
                    'torch.save writes a zip, and its end is missing or '
                    'broken here -- was a copy or download cut short?')
        with archive:
            names = archive.namelist()
            if not any(n.endswith('data.pkl') for n in names):
                return (f'a zip archive without data.pkl ({len(names)} '
                        f'member(s), e.g. {names[:3]}), not a torch checkpoint')
            try:
                bad = archive.testzip()
            except Exception as exc:  # zlib and struct errors of a bad member
                bad = f'? ({exc})'
            if bad is not None:
                return (f'a damaged torch checkpoint: zip member {bad} fails '
                        'its check (truncated or corrupted data)')
        return None
    kind = 'truncated' if isinstance(error, EOFError) else 'truncated or corrupt'
    return (f"a pickle (torch's legacy format) that is {kind} "
            f'({type(error).__name__}: {error})')


#: modules whose globals a checkpoint's pickle may name (tensors, storages,
#: containers, numpy values, MMEngine's HistoryBuffer)
DATA_MODULES = ('torch', 'collections', 'numpy', 'mmengine', '_codecs')
DATA_BUILTINS = ('set', 'frozenset', 'slice', 'range', 'complex', 'bytearray')


def code_globals(source: Union[str, bytes]) -> List[str]:
    """The globals a plain pickle names outside tensors and data
    (:data:`DATA_MODULES`), read from its opcodes without running any
    (``GLOBAL``, and ``STACK_GLOBAL`` with the two strings pushed before
    it); empty for a zip checkpoint or a pickle that cannot be scanned.
    Torch's own unpickler stops at opcodes it does not know (a protocol 4
    ``FRAME``) before it sees a global: this still tells code from damage."""
    import pickletools
    data = source if isinstance(source, bytes) else open(source, 'rb').read()
    if data.startswith(ZIP_MAGIC):
        return []
    found, strings = [], []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE',
                               'BINUNICODE8', 'SHORT_BINSTRING', 'BINSTRING',
                               'STRING'):
                strings.append(str(arg))
            elif opcode.name == 'GLOBAL':
                found.append(str(arg).replace(' ', '.'))
            elif opcode.name == 'STACK_GLOBAL' and len(strings) >= 2:
                found.append(f'{strings[-2]}.{strings[-1]}')
            elif opcode.name == 'STOP':
                break
    except Exception:   # not a pickle, or a damaged one: describe_damage
        pass
    return [g for g in dict.fromkeys(found)
            if g.split('.')[0] not in DATA_MODULES and not (
                g.startswith('builtins.') and
                g.split('.', 1)[1] in DATA_BUILTINS)]


def _is_refusal(error: BaseException) -> bool:
    """A refused global, from torch's weights-only unpickler or ours."""
    if isinstance(error, RefusedGlobalError):
        return True
    text = str(error)
    return isinstance(error, pickle.UnpicklingError) and (
        'GLOBAL' in text or 'checkpoint asks for' in text)


def _refusal_detail(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    detail = next((line for line in lines if 'GLOBAL' in line
                   or 'Unsupported' in line or 'asks for' in line),
                  lines[0] if lines else '')
    return detail.split(' Please use')[0].strip()


def _refused_global(error: BaseException) -> Optional[str]:
    """The ``module.name`` a refusal names (``GLOBAL module.name``)."""
    found = re.search(r'GLOBAL ([\w.]+)', str(error))
    return found.group(1).rstrip('.') if found else None


def _from_newer_torch(error: BaseException) -> Optional[str]:
    """The torch global a refusal names that this torch lacks, or None."""
    qualname = _refused_global(error)
    if isinstance(error, NewerTorchGlobalError) or (
            qualname is not None and missing_torch_global(qualname)):
        return qualname or '?'
    return None


def _download(url: str, name: str) -> str:
    """Download ``url`` once into torch's hub cache (``$TORCH_HOME``)."""
    from torch.hub import download_url_to_file, get_dir
    cached = osp.join(get_dir(), 'checkpoints',
                      osp.basename(urlparse(url).path) or 'checkpoint.pth')
    if not osp.isfile(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        try:
            download_url_to_file(url, cached, progress=True)
        except OSError as exc:   # urllib's URLError/HTTPError included
            raise CheckpointNotFoundError(
                f'{name}: cannot download it ({exc}). Check the URL, or '
                'download the file yourself and give its local path.') from exc
    return cached


def safe_load_checkpoint(filename: str,
                         map_location: Optional[Any] = 'cpu',
                         key: str = 'checkpoint',
                         method: Optional[str] = None) -> Any:
    """Read a checkpoint without running code from it.

    Args:
        filename (str): Local path, ``http(s)://`` URL (downloaded once to
            torch's hub cache) or any URI MMEngine's file backends read.
        map_location: As for :func:`torch.load`.
        key (str): The config key or argument that named the file, for the
            messages (e.g. ``'model.teacher_ckpt'``, ``'CHECKPOINT'``).
        method (str, optional): ``'weights_only'`` (torch's allow-list, torch
            >= 2.6) or ``'restricted'`` (mmmimic's unpickler, any torch);
            default: :func:`default_method`.

    Raises:
        CheckpointNotFoundError: nothing at ``filename``.
        DamagedCheckpointError: not a checkpoint, or a damaged one; the
            message says what was found.
        UnsafeCheckpointError: the pickle needs a global outside the allow-list
            (code, arbitrary objects); nothing from it has run.
        NewerTorchCheckpointError: the pickle needs a torch global that this
            torch lacks (saved by a newer torch); nothing from it has run.
    """
    method = method or default_method()
    if method not in METHODS:
        raise ValueError(f'method={method!r}: one of {METHODS}')
    filename = str(filename)
    name = f'{key}={filename!r}'
    if filename.startswith(('http://', 'https://')):
        source: Union[str, bytes] = _download(filename, name)
    elif '://' in filename:
        try:
            source = read_bytes(filename)
        except FileNotFoundError as exc:
            raise CheckpointNotFoundError(f'{name}: no such object ({exc})') \
                from None
    else:
        if not osp.isfile(filename):
            where = '' if osp.isabs(filename) else \
                f' (looked for {osp.abspath(filename)})'
            raise CheckpointNotFoundError(f'{name}: no such file{where}')
        source = filename
    if isinstance(source, bytes):
        head, size = source[:512], len(source)
    else:
        size = osp.getsize(source)
        with open(source, 'rb') as f:
            head = f.read(512)
    fix = (f'Point {key} at a checkpoint written by torch.save or an MMEngine '
           'runner (work_dirs/<config>/iter_N.pth or epoch_N.pth); if the file '
           'was copied or downloaded, do that again.')
    found = not_a_checkpoint(head, size)
    if found is not None:
        raise DamagedCheckpointError(f'{name}: not a checkpoint: {found}. {fix}')
    try:
        checkpoint = _torch_load(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            map_location, method)
    except Exception as error:
        newer = _from_newer_torch(error) if _is_refusal(error) else None
        if newer is not None:
            raise NewerTorchCheckpointError(
                f'{name}: saved by a newer torch than this one '
                f'({torch.__version__}): its pickle asks for {newer}, which '
                'this torch does not have (a tensor type or format added '
                'later). Install a newer torch (mmmimic runs on torch 2.1 to '
                '2.14), or load the file with the torch that saved it and '
                're-save its tensors in common dtypes, e.g. '
                "{k: v.float() for k, v in state_dict.items()}.") from None
        if _is_refusal(error):
            raise UnsafeCheckpointError(
                f'{name}: refused to load. Its pickle asks for more than '
                f'tensors and MMEngine metadata ({_refusal_detail(error)}), so '
                'loading it could run code; nothing from it was executed. Use '
                'a checkpoint written by MMEngine/MMDetection, or, only if you '
                "trust the file, re-save its weights: torch.save({'state_dict':"
                " torch.load(f, weights_only=False)['state_dict']}, "
                "'clean.pth').") from None
        code = code_globals(source)
        if code:
            raise UnsafeCheckpointError(
                f'{name}: refused to load. Its pickle (which torch could not '
                f'read as a checkpoint) names {", ".join(code[:3])}, so '
                'loading it could run code; nothing from it was executed. '
                'Use a checkpoint written by torch.save or an MMEngine '
                'runner.') from None
        damage = describe_damage(source, head, size, error)
        if damage is None:
            raise
        raise DamagedCheckpointError(
            f'{name}: not a readable checkpoint: {damage}. {fix}') from None
    if head.startswith(ZIP_MAGIC):
        # torch reads a zip without checking its CRCs: flipped bytes inside
        # the tensors would load silently
        damage = describe_damage(source, head, size, None)
        if damage is not None:
            raise DamagedCheckpointError(
                f'{name}: not a readable checkpoint: {damage}. {fix}')
    return checkpoint
