"""mmmimic: feature-mimic training of fast two-stage detectors for MMDetection."""
from .dependencies import check_dependencies

check_dependencies()

from .utils.checkpoint_compat import allow_mmengine_checkpoint_globals  # noqa: E402
from .utils.compat import cache_external_config_index  # noqa: E402
from .version import __version__, version_info  # noqa: E402

# torch >= 2.6 loads checkpoints with weights_only=True; let MMEngine's own
# checkpoint contents through (and nothing else). See utils/checkpoint_compat.py.
allow_mmengine_checkpoint_globals()
# 'mmdet::' config paths: MMDetection's model index read once per process
cache_external_config_index()

__all__ = ['__version__', 'version_info']
