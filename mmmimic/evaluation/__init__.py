from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .prediction_dump import (  # noqa
                              PredictionDumpError,
                              check_predictions,
                              load_predictions,
                              same_images,
)
