"""Imports harness.classic inside fit (after the sandbox is up) and records the file it was loaded from."""
from __future__ import annotations


class LateImport:
    def fit(self, train, context) -> None:
        import harness.classic

        context.record("classic_file", harness.classic.__file__)

    def predict(self, test, context):
        return [0] * len(test)
