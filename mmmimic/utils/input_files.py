"""The files a tool's inputs load: a config's ``_base_`` chain (``mmdet::``
bases included), the configs it names (``teacher_config``), the local
checkpoints it names (``teacher_ckpt``, ``load_from``, ``init_cfg``
``checkpoint``) and its datasets' and evaluators' annotation files
(``ann_file``, under the dataset's ``data_root``).
:func:`~.atomic.check_destination` refuses to write over any of them, so that
no output replaces something the inputs depend on."""
import ast
import importlib.util
import os.path as osp
from typing import Iterable, List, Optional, Set

#: config keys whose value is a file the config loads
FILE_KEYS = ('teacher_ckpt', 'load_from', 'checkpoint', 'pretrained',
             'teacher_config', 'resume_from')


def package_config(path: str) -> Optional[str]:
    """``mmdet::faster_rcnn/x.py`` -> the file in mmdet's installed package
    (None when the package or file is not there)."""
    scope, _, rest = path.partition('::')
    try:
        spec = importlib.util.find_spec(scope)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for sub in ('.mim/configs', 'configs'):
            candidate = osp.join(root, sub, rest)
            if osp.isfile(candidate):
                return candidate
    return None


def base_files(config: str) -> List[str]:
    """The files ``config``'s ``_base_`` names, resolved (one level)."""
    try:
        with open(config) as f:
            tree = ast.parse(f.read(), config)
    except (OSError, SyntaxError, ValueError):
        return []
    bases: List[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            bases += [value] if isinstance(value, str) else [
                v for v in value if isinstance(v, str)]
    found = []
    for base in bases:
        path = package_config(base) if '::' in base else osp.normpath(
            osp.join(osp.dirname(osp.abspath(config)), base))
        if path and osp.isfile(path):
            found.append(path)
    return found


def files_named_in(cfg: dict) -> List[str]:
    """Existing local files a merged config (as a dict) names: values under
    :data:`FILE_KEYS`, and every ``ann_file`` (joined to the ``data_root``
    beside it)."""
    found: List[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(value, str) or '://' in value:
                    walk(value)
                    continue
                path = None
                if key in FILE_KEYS:
                    path = value
                elif key == 'ann_file':
                    root = node.get('data_root')
                    path = osp.join(root, value) if isinstance(root, str) \
                        and not osp.isabs(value) else value
                if path is not None and osp.isfile(path):
                    found.append(osp.abspath(path))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)

    walk(cfg)
    return found


def named_files(config: str) -> List[str]:
    """Local files the merged ``config`` names (:func:`files_named_in`)."""
    try:
        from mmengine.config import Config
        cfg = Config.fromfile(config).to_dict()
    except Exception:   # (a config that does not load: the tool says so)
        return []
    return files_named_in(cfg)


def loaded_files(paths: Iterable[str]) -> List[str]:
    """``paths`` and, for each config (``.py``) among them, every file it
    loads, recursively; absolute, without repeats.

    A config's ``_base_`` chain is followed file by file; the files named
    under :data:`FILE_KEYS` are read from the merged config of each config
    given or named (one ``Config.fromfile`` per chain, not per base: a base's
    value is either in the merged config or overridden, and then not
    loaded)."""
    seen: Set[str] = set()
    order: List[str] = []
    # (path, whether it heads a chain: its merged config is read)
    todo = [(p, True) for p in paths if p]
    while todo:
        path, head = todo.pop(0)
        if '::' in path:
            path = package_config(path) or path
        key = osp.abspath(path)
        if key in seen:
            continue
        seen.add(key)
        order.append(key)
        if key.endswith('.py') and osp.isfile(key):
            todo += [(base, False) for base in base_files(key)]
            if head:
                todo += [(named, True) for named in named_files(key)]
    return order


def check_image_file(path: str, key: str = 'IMAGE') -> None:
    """Refuse an image argument that is missing, empty or not an image
    OpenCV decodes, naming ``key`` and the file (before a model is built)."""
    import mmcv

    from .cli import UsageError
    if not osp.isfile(path):
        raise FileNotFoundError(f'{key} {path}: no such file')
    try:
        image = mmcv.imread(path)
    except Exception:   # noqa: BLE001 (OpenCV's own error types)
        image = None
    if image is None or image.size == 0:
        raise UsageError(f'{key} {path}: not an image OpenCV can read (a '
                         'JPEG, PNG or BMP file)')


__all__ = ['loaded_files', 'base_files', 'named_files', 'files_named_in',
           'package_config', 'check_image_file']
