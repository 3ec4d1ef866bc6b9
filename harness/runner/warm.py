"""Imported once by the zygote (zygote.py): pay the heavy imports (and torch's lazy set-up) once per harness
process, not per fold.

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
    # torch.optim's first optimizer imports torch._dynamo (1.4-3.5 s measured here, no threads started):
    # without this, every neural fold pays it again.
    import torch._dynamo  # noqa: F401
except ImportError:  # pragma: no cover
    pass
