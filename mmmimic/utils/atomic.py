import hashlib
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator, Sequence, Tuple, Union


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` that becomes ``path`` on success.

    The temporary name ends with ``path``'s own name (so writers that infer the
    format from the extension still work). On an exception it is removed and
    ``path`` is untouched: nothing half-written is left behind.

    Example:
        >>> with atomic_path('out/result.json') as tmp:
        ...     with open(tmp, 'w') as f:
        ...         f.write('{}')
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-',
                               suffix=f'-{osp.basename(path)}')
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates 0600; give the file the usual permissions
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


class DestinationError(ValueError):
    """A tool refuses to write a file; says why and what to do."""


#: the longest file name most file systems allow (bytes)
MAX_NAME_BYTES = 255


def check_destination(out: str, inputs: Sequence[str] = (),
                      overwrite: bool = False,
                      suffix: Union[str, Tuple[str, ...]] = '',
                      flag: str = '--overwrite', cfg=None) -> None:
    """Refuse, before any work, to write ``out`` where that would destroy
    something: over one of the tool's ``inputs`` or a file they load (a
    config's ``_base_`` chain, the configs and checkpoints it names:
    :func:`~.input_files.loaded_files`), even with ``overwrite``; over an
    existing file unless ``overwrite``; onto a folder; under a name longer
    than file systems allow (``MAX_NAME_BYTES``); or without the
    ``suffix`` the output needs (one, or a tuple of those allowed; any case).
    ``cfg``: the config the tool runs, ``--cfg-options`` merged, whose named
    files (annotation files under a ``data_root`` given on the command line,
    checkpoints) are inputs too.

    Raises:
        DestinationError: naming ``out``, the reason and the fix.
    """
    from .input_files import files_named_in, loaded_files
    if osp.isdir(out):
        raise DestinationError(f'{out} is a folder; give the file to write')
    name_bytes = len(osp.basename(out).encode('utf-8', 'surrogateescape'))
    if name_bytes > MAX_NAME_BYTES:
        raise DestinationError(
            f'{out[:40]}...: a file name of {name_bytes} bytes; file systems '
            f'allow at most {MAX_NAME_BYTES}: give a shorter name')
    given = {osp.abspath(p) for p in inputs if p}
    loaded = loaded_files(inputs)
    if cfg is not None:
        loaded += files_named_in(cfg.to_dict() if hasattr(cfg, 'to_dict')
                                 else dict(cfg))
    for path in loaded:
        same = osp.abspath(path) == osp.abspath(out) or (
            osp.exists(path) and osp.exists(out) and osp.samefile(path, out))
        if same:
            what = 'also an input' if path in given else \
                'a file the inputs load'
            raise DestinationError(
                f'{out} is {what} ({path}); choose another output '
                f'({flag} does not allow this)')
    allowed = (suffix, ) if isinstance(suffix, str) else tuple(suffix)
    allowed = tuple(s for s in allowed if s)
    if allowed and not out.lower().endswith(
            tuple(s.lower() for s in allowed)):
        names = ' or '.join(allowed) if len(allowed) < 3 else \
            ', '.join(allowed[:-1]) + ' or ' + allowed[-1]
        raise DestinationError(f'{out}: the output must end in {names}')
    if osp.exists(out) and not overwrite:
        raise DestinationError(f'{out} exists; pass {flag} to replace it')
