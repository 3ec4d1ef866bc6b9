"""Helpers shared by the preprocessing tests."""
from __future__ import annotations

import numpy as np


def face_mask(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool mask of the convex hull of the 468 face-mesh landmarks."""
    import cv2

    m = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(landmarks[:468]).astype(np.int32)), 1)
    return m.astype(bool)
