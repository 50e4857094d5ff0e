"""mmmimic: feature-mimic training of fast two-stage detectors for MMDetection."""
from .dependencies import check_dependencies

check_dependencies()

from .utils.checkpoint_compat import allow_mmengine_checkpoint_globals  # noqa: E402
from .version import __version__, version_info  # noqa: E402

# torch >= 2.6 loads checkpoints with weights_only=True; let MMEngine's own
# checkpoint contents through (and nothing else). See utils/checkpoint_compat.py.
allow_mmengine_checkpoint_globals()

__all__ = ['__version__', 'version_info']
