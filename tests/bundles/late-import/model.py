"""Imports harness.kit.svm inside fit (after the sandbox is up) and records the file it was loaded from."""
from __future__ import annotations


class LateImport:
    def fit(self, train, context) -> None:
        import harness.kit.svm

        context.record("kit_file", harness.kit.svm.__file__)

    def predict(self, test, context):
        return [0] * len(test)
