"""One entry point for every command-line tool: a user's mistake is one line
that names it, a bug keeps its traceback.

    if __name__ == '__main__':
        run_tool(main)

:func:`run_tool` runs ``main()``. A user error reaching it -- one of this
package's errors (a checkpoint, pickle, destination, dataset, export or config
error), a missing or unreadable file, or a ``ValueError`` / ``KeyError`` /
``TypeError`` raised by mmmimic's own checks or MMEngine's config and registry
code (a bad value, an unknown key or type) -- is printed as ``TOOL: message``
and the tool exits with status 2, after the cleanups the run registered
(:func:`on_refusal`: what it added to its work dir) have run, so that a
refused run leaves nothing; Ctrl-C is one line and status 130.
Anything else is a bug and keeps its traceback, as does every error with
``--debug`` on the command line (removed before the tool parses its
arguments) or ``MMMIMIC_DEBUG=1`` in the environment.
"""
import argparse
import math
import os
import os.path as osp
import sys
from typing import Callable, List, Optional, Tuple, Type

#: raised by these files, a ValueError / KeyError / TypeError is a check of
#: user input (mmmimic's own checks, MMEngine's config and registry)
USER_CHECK_PATHS = (
    osp.dirname(osp.dirname(osp.abspath(__file__))),
    osp.join('mmengine', 'config'),
    osp.join('mmengine', 'registry'),
)
#: exit status of a refused run (argparse uses 2 for bad arguments too)
USER_ERROR_STATUS = 2
#: exit status after Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED_STATUS = 130


#: called, in order, when run_tool ends a run on a user error (each
#: removes what the run made before it was refused)
_ON_REFUSAL: List[Callable[[], None]] = []


def on_refusal(clean: Callable[[], None]) -> None:
    """Have ``clean()`` called if this tool run ends on a user error, before
    the error is printed (a cleanup's own failure is ignored)."""
    _ON_REFUSAL.append(clean)


class UsageError(Exception):
    """A refusal of what the user gave, with a message that names it and the
    fix; a tool raises it instead of ``SystemExit(message)`` so that every
    refusal ends the same way (one line, status ``USER_ERROR_STATUS``)."""


def user_error_types() -> Tuple[Type[BaseException], ...]:
    """This package's errors, each about something the user gave."""
    from mmmimic.datasets.caltech.io import CaltechFormatError
    from mmmimic.deployment.onnx_export import OnnxExportError
    from mmmimic.deployment.onnx_quantize import QuantizeError
    from mmmimic.models.distillers.student_export import ExportError
    from mmmimic.utils.atomic import DestinationError
    from mmmimic.utils.config_file import ConfigFileError
    from mmmimic.utils.safe_load import CheckpointError
    from mmmimic.utils.safe_pickle import DamagedPickleError, UnsafePickleError
    return (UsageError, CheckpointError, DestinationError, UnsafePickleError,
            DamagedPickleError, CaltechFormatError, ExportError,
            OnnxExportError, QuantizeError, ConfigFileError, FileNotFoundError,
            IsADirectoryError, NotADirectoryError, PermissionError)


def raised_by_a_check(error: BaseException) -> bool:
    """Whether ``error`` was raised in mmmimic or MMEngine's config or
    registry code (the innermost frame of its traceback)."""
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = osp.abspath(tb.tb_frame.f_code.co_filename)
    return any(part in path for part in USER_CHECK_PATHS)


def is_user_error(error: BaseException) -> bool:
    """A mistake in what the user gave (see the module), not a bug."""
    try:
        known = user_error_types()
    except ImportError:   # (a broken install: show everything)
        return False
    if isinstance(error, known):
        return True
    return isinstance(error, (ValueError, KeyError, TypeError)) and \
        raised_by_a_check(error)


def one_line(error: BaseException) -> str:
    """The error's message on one line (a KeyError's without its quotes)."""
    message = error.args[0] if isinstance(error, KeyError) and \
        len(error.args) == 1 and isinstance(error.args[0], str) \
        else str(error)
    return ' '.join(str(message).split()) or type(error).__name__


def run_tool(main: Callable[[], object], name: str = '') -> None:
    """Run a tool's ``main``; user errors as one line (see the module)."""
    name = name or osp.basename(sys.argv[0]) or 'mmmimic'
    debug = '--debug' in sys.argv[1:] or \
        os.environ.get('MMMIMIC_DEBUG', '') not in ('', '0')
    sys.argv = [sys.argv[0]] + [a for a in sys.argv[1:] if a != '--debug']
    _ON_REFUSAL.clear()   # (only this run's cleanups)
    try:
        main()
    except KeyboardInterrupt as interrupt:
        if debug:
            raise
        print(f'{name}: interrupted' +
              (f' ({one_line(interrupt)})' if interrupt.args else ''),
              file=sys.stderr)
        sys.exit(INTERRUPTED_STATUS)
    except Exception as error:   # noqa: BLE001 (sorted into user or bug)
        if debug or not is_user_error(error):
            raise
        while _ON_REFUSAL:
            try:
                _ON_REFUSAL.pop(0)()
            except OSError:
                pass
        print(f'{name}: {one_line(error)}', file=sys.stderr)
        sys.exit(USER_ERROR_STATUS)
    finally:
        _ON_REFUSAL.clear()


def in_range(kind: type, low: float, high: Optional[float] = None
             ) -> Callable[[str], float]:
    """An argparse ``type``: a number of ``kind`` (``int``: a whole number;
    ``float``: a finite one) in ``[low, high]``; argparse names the flag when
    it refuses one."""
    what = 'a whole number' if kind is int else 'a finite number'
    bound = f'at least {low}' if high is None else f'between {low} and {high}'

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not {what}') from None
        if not math.isfinite(value) or value < low or (
                high is not None and value > high):
            raise argparse.ArgumentTypeError(f'{text} must be {what} {bound}')
        return value
    parse.__name__ = kind.__name__
    return parse


def int_at_least(low: int, high: Optional[int] = None) -> Callable[[str], int]:
    """A whole number in ``[low, high]`` (an argparse ``type``)."""
    return in_range(int, low, high)


def finite_at_least(low: float, high: Optional[float] = None
                    ) -> Callable[[str], float]:
    """A finite number in ``[low, high]`` (an argparse ``type``)."""
    return in_range(float, low, high)


def folder_path(text: str) -> str:
    """An argparse ``type``: a folder to read or make, refused when it names
    an existing file (before anything is written beside it)."""
    if not text:
        raise argparse.ArgumentTypeError('an empty path')
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f'{text} is a file, not a folder; name a folder')
    return text


def image_size(low: int = 16, high: int = 8192) -> Callable[[str], str]:
    """An argparse ``type``: a size ``WxH`` of whole numbers in
    ``[low, high]`` each, returned as ``'WxH'``."""
    def parse(text: str) -> str:
        parts = text.lower().split('x')
        try:
            width, height = (int(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not a size WxH (e.g. 640x480)') from None
        if not (low <= width <= high and low <= height <= high):
            raise argparse.ArgumentTypeError(
                f'{text}: width and height must be between {low} and {high}')
        return f'{width}x{height}'
    parse.__name__ = 'size'
    return parse


def torch_device(text: str) -> str:
    """An argparse ``type``: a device torch knows and this machine has
    (``cpu``, ``cuda``, ``cuda:1``)."""
    import torch
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a device (cpu, cuda, cuda:N)') from None
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise argparse.ArgumentTypeError(
                f'{text}: this machine has no CUDA device (use cpu)')
        if device.index is not None and device.index >= count:
            raise argparse.ArgumentTypeError(
                f'{text}: this machine has {count} CUDA device(s)')
    elif device.type != 'cpu':
        raise argparse.ArgumentTypeError(
            f'{text}: only cpu and cuda devices are supported')
    return text


#: the longest file stem accepted: most file systems allow 255 bytes per name
#: and the stem gets a suffix
MAX_STEM_BYTES = 200


def stem_problem(text: str) -> Optional[str]:
    """Why ``text`` is not a usable file stem, or None when it is: one path
    component (no folder), not hidden, at most ``MAX_STEM_BYTES`` bytes. The
    one rule for every name a tool turns into files."""
    if not text or text in ('.', '..') or text.startswith('.'):
        return f'{text!r}: a file stem is a non-empty name not starting ' \
            'with "."'
    if '/' in text or os.sep in text or (os.altsep and os.altsep in text):
        return f'{text!r}: a file stem is one name, without a folder; the ' \
            'folder is a separate argument'
    size = len(text.encode('utf-8', 'surrogateescape'))
    if size > MAX_STEM_BYTES:
        return f'a file stem of {size} bytes; at most {MAX_STEM_BYTES}'
    return None


def file_stem(text: str) -> str:
    """An argparse ``type`` for a file stem (:func:`stem_problem`)."""
    problem = stem_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


#: counts (iterations, images, rounds, workers): at least 1
positive_int = int_at_least(1)
#: tolerances and thresholds: finite, >= 0
non_negative_float = finite_at_least(0.0)

__all__ = ['run_tool', 'UsageError', 'on_refusal', 'is_user_error', 'one_line',
           'USER_ERROR_STATUS',
           'in_range', 'int_at_least', 'finite_at_least', 'positive_int',
           'non_negative_float', 'folder_path', 'file_stem', 'stem_problem',
           'image_size', 'torch_device',
           'MAX_STEM_BYTES']
