"""Reading a config a user names on the command line, with one-line errors."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

SUFFIXES = ('.py', '.json', '.yaml', '.yml')


class ConfigFileError(ValueError):
    """A config that cannot be read: no such file, another kind of file, or
    Python/_base_ errors inside it; the message names the file and the fix."""


def read_config(path: str, key: str = 'CONFIG') -> Config:
    """``Config.fromfile(path)``, with its errors turned into one
    :class:`ConfigFileError` naming ``key`` (the argument) and the file.

    Raises:
        ConfigFileError: no such file, a suffix MMEngine does not read, a
            syntax error (with its line), a missing ``_base_`` or any other
            error while the file or its bases are read.
    """
    if not osp.isfile(path):
        where = 'is a folder' if osp.isdir(path) else 'no such file'
        raise ConfigFileError(f'{key} {path}: {where}; give a config file '
                              '(.py), e.g. one of configs/')
    if not path.endswith(SUFFIXES):
        raise ConfigFileError(
            f'{key} {path}: not a config file (MMEngine reads '
            f'{", ".join(SUFFIXES)}); is the order of the arguments right?')
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        where = err.filename if err.filename and \
            not err.filename.startswith('<') else path
        raise ConfigFileError(
            f'{key} {path}: Python syntax error in {where}, line '
            f'{err.lineno}: {err.msg}') from None
    except FileNotFoundError as err:
        missing = err.filename or err
        raise ConfigFileError(
            f'{key} {path}: a file it inherits is missing ({missing}); '
            'check its _base_ paths (relative to the config\'s folder, or '
            "'mmdet::...')") from None
    except Exception as err:  # mmengine raises many types while reading
        raise ConfigFileError(
            f'{key} {path}: cannot be read ({type(err).__name__}: '
            f'{err})') from None


def read_mimic_config(path: str, cfg_options: Optional[dict] = None,
                      key: str = 'CONFIG') -> Config:
    """A mimic config (its model names a ``teacher_config``) for a tool, with
    ``--cfg-options`` merged.

    Raises:
        ConfigFileError: as :func:`read_config`, or a config that is not a
            mimic config.
    """
    cfg = read_config(path, key)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'teacher_config' not in cfg.get('model', {}):
        raise ConfigFileError(f'{path}: not a mimic config (model has no '
                              'teacher_config)')
    return cfg
