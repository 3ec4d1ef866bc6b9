"""A deliberately hostile submission: it hunts for test labels and cheats with anything it finds.

Every avenue it tries is recorded (context.record) so that the test can assert each one came back empty.
"""
from __future__ import annotations

import gc
import inspect
import os
import sys
import warnings
from pathlib import Path

LABEL_ATTRS = ("label", "label_index", "emotion", "aus")


DATASET_KEYS = ("dfme", "casme3", "casme2", "samm", "smic")


def _suspicious_entries(folder: Path) -> list[str]:
    hits = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return hits
    for e in entries:
        try:
            if e.suffix.lower() == ".xlsx" or e.name == "_truth":
                hits.append(str(e))
            elif e.is_dir() and any((e / k).is_dir() and any((e / k).rglob("*.xlsx")) for k in DATASET_KEYS):
                hits.append(str(e))  # a data root
            elif e.is_dir() and e.name in DATASET_KEYS and any(e.rglob("*.xlsx")):
                hits.append(str(e))  # a dataset folder
        except OSError:
            continue
    return hits


class Hostile:
    def __init__(self) -> None:
        self.train_ids: set[str] = set()

    def fit(self, train, context) -> None:
        self.train_ids = set(train.ids)

    def predict(self, test, context):
        ids = set(test.ids)
        found: dict[str, list[str]] = {}
        stolen: dict[str, object] = {}

        def note(avenue: str, what: str) -> None:
            found.setdefault(avenue, []).append(what[:200])

        # 1. Label fields on the samples or the set.
        for s in test:
            for a in LABEL_ATTRS:
                if hasattr(s, a):
                    note("sample-attribute", f"{s.sample_id}.{a}")
                    stolen[s.sample_id] = getattr(s, a)
        for a in ("labels", "table", "frame", "df", "_table", "task"):
            if hasattr(test, a):
                note("set-attribute", a)
        # 2. Anything in this process's memory: tables, labelled samples of test subjects, dicts keyed by test ids.
        warnings.simplefilter("ignore")  # touching every object trips deprecation warnings in torch
        for obj in gc.get_objects():
            tname = type(obj).__name__
            if tname == "DataFrame":
                cols = set(map(str, getattr(obj, "columns", [])))
                if {"label", "emotion"} & cols:
                    note("gc-dataframe", ",".join(sorted(cols))[:200])
            elif tname == "LabelledSample" and getattr(obj, "sample_id", None) in ids:
                note("gc-labelled-test-sample", obj.sample_id)
                stolen[obj.sample_id] = obj.label_index
            elif isinstance(obj, dict) and len(obj) < 100000:
                try:
                    hits = [k for k in obj if isinstance(k, str) and k in ids and isinstance(obj[k], (str, int))
                            and not isinstance(obj[k], bool)]
                except Exception:
                    hits = []
                if len(hits) == len(ids) and obj is not stolen:
                    note("gc-dict-keyed-by-test-ids", repr(list(obj.items())[:3]))
        # 3. Stack frames of whoever called us.
        for frame in inspect.stack():
            for name, value in frame.frame.f_locals.items():
                if type(value).__name__ in ("DataFrame", "Task"):
                    note("stack-local", f"{frame.function}:{name}")
        # 4. Environment and command line that could name the data root.
        for k, v in os.environ.items():
            if k.startswith("HARNESS_"):
                note("environment", f"{k}={v}")
        if any("data-root" in a or "data_root" in a for a in sys.argv):
            note("argv", " ".join(sys.argv))
        # 5. Walk up from the frames folder: is an annotation workbook, the corpus ground truth or a data root
        #    (a folder holding dataset folders with workbooks) one listing away from any ancestor?
        for s in list(test)[:3]:
            for parent in Path(s.frames_dir).parents:
                for hit in _suspicious_entries(parent):
                    note("filesystem-walk", hit)
        # 6. The working directory.
        for hit in _suspicious_entries(Path(".")):
            note("cwd", hit)
        context.record("found", found)
        context.record("n_found", sum(len(v) for v in found.values()))
        labels = []
        for s in test:
            v = stolen.get(s.sample_id, 0)
            labels.append(v if isinstance(v, int) else 0)
        return labels
