"""Probes the fold sandbox: can it open a known path (an annotation workbook) or write outside its scratch folder?"""
from __future__ import annotations

import os


class Prober:
    def __init__(self, read: str = "", stash: str = "") -> None:
        self.read, self.stash = read, stash

    def fit(self, train, context) -> None:
        results = {}
        if self.read:
            try:
                with open(self.read, "rb") as f:
                    results["read"] = len(f.read(16)) > 0
            except OSError as exc:
                results["read"] = f"blocked: {exc.strerror}"
        if self.stash:
            try:
                with open(self.stash, "w") as f:
                    f.write(",".join(train.ids))
                results["stash"] = True
            except OSError as exc:
                results["stash"] = f"blocked: {exc.strerror}"
        with open(os.path.join(os.getcwd(), "scratch.txt"), "w") as f:  # the fold's own folder stays writable
            f.write("ok")
        results["frames"] = int(train[0].frames().shape[0])
        context.record("probe", results)

    def predict(self, test, context):
        return [0] * len(test)
