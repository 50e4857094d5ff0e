import datetime
import warnings

from mmengine import DefaultScope

from mmmimic.registry import SCOPE


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmmimic module so that its components are registered.

    Args:
        init_default_scope (bool): Also make ``mmmimic`` the global default
            scope, so that unprefixed names resolve in mmmimic's registries
            first. Defaults to True.
    """
    import mmmimic.datasets  # noqa: F401
    import mmmimic.engine  # noqa: F401
    import mmmimic.evaluation  # noqa: F401
    import mmmimic.models  # noqa: F401
    import mmmimic.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(SCOPE):
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
        return
    if current.scope_name != SCOPE:
        warnings.warn(
            f'The current default scope "{current.scope_name}" is not '
            f'"{SCOPE}"; register_all_modules switches it to "{SCOPE}". Pass '
            'init_default_scope=False to keep it.', stacklevel=2)
        DefaultScope.get_instance(f'{SCOPE}-{datetime.datetime.now()}',
                                  scope_name=SCOPE)
