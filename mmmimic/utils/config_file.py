"""Reading a config a user names on the command line, with one-line errors."""
import difflib
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

SUFFIXES = ('.py', '.json', '.yaml', '.yml')


class ConfigFileError(ValueError):
    """A config that cannot be read: no such file, another kind of file, or
    Python/_base_ errors inside it; the message names the file and the fix."""


#: numbers a run divides, counts or weighs by, checked wherever they are under
#: their section (a wrong one fails only after the data and the weights are
#: loaded, or trains nothing, or the wrong thing, in silence): section pattern
#: -> key -> (kind, lowest, whether the lowest is allowed, an example). Loss
#: weights (the mimic terms' and MMDetection's own) and softening temperatures
#: are checked here too, before the runner logs the config and builds the
#: model; the mimic terms check theirs again when built from Python.
VALUE_RULES = {
    'model': {'pad_size_divisor': (int, 1, True, 32),
              'loss_weight': (float, 0, True, 1.0),
              'cls_weight': (float, 0, True, 1.0),
              'reg_weight': (float, 0, True, 1.0),
              'temperature': (float, 0, False, 1.0)},
    '*_dataloader': {'batch_size': (int, 1, True, 2),
                     'num_workers': (int, 0, True, 2)},
    'optim_wrapper': {'lr': (float, 0, False, 0.02),
                      'momentum': (float, 0, True, 0.9),
                      'weight_decay': (float, 0, True, 0.0001)},
}


def _value_problem(value, kind: type, low: float, inclusive: bool
                   ) -> Optional[str]:
    """Why ``value`` breaks its rule, or None."""
    import math
    bound = f'{">=" if inclusive else ">"} {low}'
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or \
                value < low or (value == low and not inclusive):
            return f'must be a whole number {bound}'
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < low or \
            (value == low and not inclusive):
        return f'must be a finite number {bound}'
    return None


def check_config_values(cfg) -> None:
    """Refuse a config holding a value that breaks its :data:`VALUE_RULES`
    rule, naming its key path and a fix (e.g.
    ``model.data_preprocessor.pad_size_divisor=0: must be a whole number >=
    1``)."""
    from fnmatch import fnmatch

    def walk(node, path, rules):
        if isinstance(node, dict):
            for key, value in node.items():
                where = f'{path}.{key}'
                if key in rules:
                    kind, low, inclusive, example = rules[key]
                    problem = _value_problem(value, kind, low, inclusive)
                    if problem:
                        raise ConfigFileError(
                            f'{where}={value!r}: {problem} (e.g. '
                            f'--cfg-options {where}={example})')
                walk(value, where, rules)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}', rules)
    for section in list(cfg.keys()):
        for pattern, rules in VALUE_RULES.items():
            if fnmatch(section, pattern):
                walk(cfg.get(section), section, rules)


def read_config(path: str, key: str = 'CONFIG',
                cfg_options: Optional[dict] = None,
                check: bool = True) -> Config:
    """``Config.fromfile(path)`` with ``cfg_options`` (``--cfg-options``)
    merged, its errors turned into one :class:`ConfigFileError` naming ``key``
    (the argument) and the file; an option's text where the config holds a
    number refused (:func:`check_option_types`); with ``check``, its model
    values checked (:func:`check_config_values`), before any data or weights
    are read. The one reader of every tool that runs a config.

    Raises:
        ConfigFileError: no such file, a suffix MMEngine does not read, a
            syntax error (with its line), a missing ``_base_`` or any other
            error while the file or its bases are read; a value a run
            divides or counts by out of its range; an option's text where a
            number belongs.
    """
    cfg = _from_file(path, key)
    if cfg_options:
        check_option_types(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if check:
        check_config_values(cfg)
    return cfg


def runner_keys() -> Tuple[str, ...]:
    """The top-level config keys MMEngine reads without a config holding
    them: the ``Runner``'s ``__init__`` arguments, the ones
    ``Runner.from_cfg`` and ``custom_imports`` add, and MMDetection's
    test-time augmentation (``tools/test.py --tta``)."""
    import inspect

    from mmengine.runner import Runner
    return tuple(name for name in inspect.signature(
        Runner.__init__).parameters if name not in ('self', 'cfg')) + (
            'runner_type', 'model_wrapper_cfg', 'compile', 'custom_imports',
            'tta_model', 'tta_pipeline')


def check_option_types(cfg: Config, options: dict) -> None:
    """Refuse a ``--cfg-options`` key whose first part is neither in the
    config nor a key the runner reads (``trian_cfg.max_iters=5`` would be
    added and ignored: the closest key is named), and a value that is text
    where the config holds a number (``train_cfg.max_iters=abc``): named
    here, not deep inside a component."""
    known = set(cfg.keys()) | set(runner_keys())
    for key in options:
        top = key.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            raise ConfigFileError(
                f'--cfg-options {key}: the config has no {top!r} and the '
                'runner reads no such key, so the option would change '
                'nothing' + (f'; did you mean {close[0]}?' if close else
                             f'; its keys: {", ".join(sorted(cfg.keys()))}'))
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
