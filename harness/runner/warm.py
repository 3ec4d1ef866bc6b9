"""Imported once by the fork server: pay the heavy imports (and torch's lazy set-up) once per run, not per fold.

Nothing here starts threads or touches data, so forking from this state is safe and clean.
"""
import numpy  # noqa: F401
import pandas  # noqa: F401
import sklearn  # noqa: F401

try:
    import cv2  # noqa: F401
except ImportError:  # pragma: no cover
    pass
try:
    import torch

    # The first call costs ~0.9 s (lazy imports); folds set the same flag again for nothing.
    torch.use_deterministic_algorithms(True, warn_only=True)
except ImportError:  # pragma: no cover
    pass
