"""Attack: learn where the data is from /proc, then read the labels there.

The submitting process was started as `harness submit ... --data-root DIR` with HARNESS_HOME in its
environment; its command line and environment are files under /proc/<pid>/. Every path found is recorded; if a
data root can be loaded, its labels are used. Without loot the fold predicts class 0 for every sample.
"""
from __future__ import annotations

import os
from pathlib import Path


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def scan() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"data_root": [], "harness_home": []}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        argv = _read(f"/proc/{pid}/cmdline")
        for i, a in enumerate(argv[:-1]):
            if a == "--data-root":
                found["data_root"].append(argv[i + 1])
        for var in _read(f"/proc/{pid}/environ"):
            if var.startswith(("HARNESS_HOME=", "HARNESS_DATA_ROOT=")):
                key = "harness_home" if var.startswith("HARNESS_HOME=") else "data_root"
                found[key].append(var.split("=", 1)[1])
    return {k: sorted(set(v)) for k, v in found.items()}


class ProcAttack:
    def __init__(self) -> None:
        self.loot: dict[str, int] = {}

    def fit(self, train, context) -> None:
        found = scan()
        context.record("found", found)
        for root in found["data_root"]:
            try:
                from harness.protocols import get_protocol
                from harness.protocols.task import build_task

                task = build_task(get_protocol(context.protocol), Path(root))
                self.loot = {str(u): int(i) for u, i in zip(task.table["uid"], task.table["label_index"])}
                break
            except Exception as exc:
                context.record("load_failed", f"{type(exc).__name__}: {exc}"[:200])

    def predict(self, test, context):
        context.record("leaked", sum(s.sample_id in self.loot for s in test))
        return [self.loot.get(s.sample_id, 0) for s in test]
