"""Honest: predicts class 1 where the shared preprocessing finds a face, class 0 where it finds none."""
from __future__ import annotations

from harness.preprocess import NoFaceError


def _has_face(sample, context) -> bool:
    try:
        context.preprocess.landmarks(sample)
    except NoFaceError:
        return False
    return True


class CacheReader:
    def fit(self, train, context) -> None:
        context.record("train_faces", sum(_has_face(s, context) for s in train))

    def predict(self, test, context):
        return [int(_has_face(s, context)) for s in test]
