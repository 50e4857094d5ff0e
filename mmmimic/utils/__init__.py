from .atomic import atomic_path, atomic_write_bytes
from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .safe_load import UnsafeCheckpointError, safe_load_checkpoint
from .setup_env import register_all_modules, setup_cpu_distributed

__all__ = [
    'allow_mmengine_checkpoint_globals', 'atomic_path', 'atomic_write_bytes',
    'register_all_modules', 'safe_load_checkpoint', 'UnsafeCheckpointError',
    'setup_cpu_distributed'
]
