"""Reading a config a user names on the command line, with one-line errors."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

SUFFIXES = ('.py', '.json', '.yaml', '.yml')


class ConfigFileError(ValueError):
    """A config that cannot be read: no such file, another kind of file, or
    Python/_base_ errors inside it; the message names the file and the fix."""


#: config keys that divide or count, anywhere under ``model``: a whole
#: number >= 1 (0 divides by zero at the first batch, after the data and
#: the weights are loaded)
POSITIVE_MODEL_KEYS = ('pad_size_divisor',)


def check_model_values(cfg) -> None:
    """Refuse a model config holding a ``POSITIVE_MODEL_KEYS`` value that
    is not a whole number >= 1, naming its key path (e.g.
    ``model.data_preprocessor.pad_size_divisor=0``)."""
    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                where = f'{path}.{key}'
                if key in POSITIVE_MODEL_KEYS and (
                        isinstance(value, bool) or not isinstance(value, int)
                        or value < 1):
                    raise ConfigFileError(
                        f'{where}={value!r}: must be a whole number >= 1 '
                        f'(e.g. --cfg-options {where}=32)')
                walk(value, where)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')
    walk(cfg.get('model') or {}, 'model')


def read_config(path: str, key: str = 'CONFIG',
                cfg_options: Optional[dict] = None,
                check: bool = True) -> Config:
    """``Config.fromfile(path)`` with ``cfg_options`` (``--cfg-options``)
    merged, its errors turned into one :class:`ConfigFileError` naming ``key``
    (the argument) and the file; an option's text where the config holds a
    number refused (:func:`check_option_types`); with ``check``, its model
    values checked (:func:`check_model_values`), before any data or weights
    are read. The one reader of every tool that runs a config.

    Raises:
        ConfigFileError: no such file, a suffix MMEngine does not read, a
            syntax error (with its line), a missing ``_base_`` or any other
            error while the file or its bases are read; a model value that
            would divide by zero; an option's text where a number belongs.
    """
    cfg = _from_file(path, key)
    if cfg_options:
        check_option_types(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if check:
        check_model_values(cfg)
    return cfg


def check_option_types(cfg: Config, options: dict) -> None:
    """Refuse a ``--cfg-options`` value that is text where the config holds
    a number (``train_cfg.max_iters=abc``): named here, not deep inside a
    component."""
    for key, value in options.items():
        node, found = cfg, True
        for part in key.split('.'):
            try:
                node = node[part]
            except (KeyError, TypeError, IndexError, AttributeError):
                found = False
                break
        if found and isinstance(node, (int, float)) and \
                not isinstance(node, bool) and isinstance(value, str):
            raise ConfigFileError(
                f'--cfg-options {key}={value}: the config holds a number '
                f'there ({node!r}); give a number')


def _from_file(path: str, key: str) -> Config:
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
    cfg = read_config(path, key, cfg_options)
    if 'teacher_config' not in cfg.get('model', {}):
        raise ConfigFileError(f'{path}: not a mimic config (model has no '
                              'teacher_config)')
    return cfg
