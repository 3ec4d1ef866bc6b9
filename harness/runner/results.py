"""What comes back from a fold, checked as untrusted input and mapped back to release ids.

A fold's messages were written (or could have been, had its supervisor been subverted) by a submission, so each
one is validated before the harness uses it: the ids must be exactly the fold's test ids (each once), the
predictions class indices of the protocol, the probabilities a finite non-negative (n, K) array, the records a
bounded JSON mapping that cannot overwrite what the harness itself records. Text that will be printed (a
traceback, the log tail) loses its control characters, so a bundle cannot drive the user's terminal.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.runner.supervisor import Launch
from harness.runner.worker import FoldResult
from harness.names import printable

#: Record names the harness sets itself; a bundle's own records of these names are dropped (and counted).
RESERVED = ("sandbox", "isolation", "wall_s", "fold_batched", "log", "cache")
MAX_RECORDS_BYTES = 1 << 20
LOG_TAIL_LINES = 20


@dataclass
class FoldTask:
    """A fold (or all of a seed's folds, batched) as the harness runs it: the supervisor's launch plus what only
    the harness keeps (which release id each opaque id stands for)."""

    launch: Launch
    seed: int
    folds: list[str]
    expected: dict[str, list[str]]   # fold -> the opaque ids of its test samples
    uid_of: dict[str, str]           # opaque id -> release uid
    classes: tuple[str, ...]
    log_path: Path
    time_limit_s: float | None = None
    batched: bool = False            # all of a seed's folds in one process (--fold-batched)

    @property
    def name(self) -> str:
        return f"{len(self.folds)} folds (batched)" if self.batched else self.folds[0]


class Invalid(ValueError):
    pass


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    tail = [printable(ln, keep_tabs=True) for ln in text.splitlines()[-lines:]]
    return "\n".join(tail)


def failure(task: FoldTask, message: str) -> list[FoldResult]:
    tail = log_tail(task.log_path)
    text = message + (f"\n--- last lines of the fold's log ({task.log_path}) ---\n{tail}" if tail else
                      f"\n(the fold's log, {task.log_path}, is empty)")
    return [FoldResult(task.seed, f, error=text) for f in task.folds]


def build_results(task: FoldTask, isolation: dict | None, result: dict | None, done: dict | None) -> list[FoldResult]:
    """FoldResults (release ids) from a fold's messages; any violation makes every fold of the task fail."""
    if done is not None and done.get("supervisor_error"):
        return failure(task, f"the harness failed to run the fold:\n{printable(done['supervisor_error'], True)}")
    if isolation is None:
        return failure(task, "the fold process ended before it was isolated (see its log)")
    if done is not None and done.get("survivors"):
        return failure(task, f"{done['survivors']} process(es) the fold started survived it")
    if result is None:
        exit_code = (done or {}).get("exit")
        return failure(task, f"the fold process ended (exit code {exit_code}) without returning a result")
    try:
        items = _items(task, result)
    except Invalid as exc:
        return failure(task, f"the fold returned an invalid result: {exc}")
    out = []
    wall = float((done or {}).get("wall_s", 0.0)) / max(1, len(task.folds))
    for fold in task.folds:
        item = items[fold]
        if item.get("error") is not None:
            out.append(FoldResult(task.seed, fold, error=printable(str(item["error"])[-20000:], keep_newlines=True)))
            continue
        try:
            out.append(_one(task, fold, item, isolation, done or {}, wall))
        except Invalid as exc:
            return failure(task, f"fold {fold}: invalid result: {exc}")
    return out


def _items(task: FoldTask, result: dict) -> dict[str, dict]:
    items = result.get("results")
    if not isinstance(items, list) or len(items) != len(task.folds):
        raise Invalid(f"expected {len(task.folds)} fold result(s)")
    by_fold = {}
    for item in items:
        if not isinstance(item, dict) or item.get("fold") not in task.folds or item["fold"] in by_fold:
            raise Invalid("a result names a fold that is not this task's, or one twice")
        by_fold[item["fold"]] = item
    return by_fold


def _one(task: FoldTask, fold: str, item: dict, isolation: dict, done: dict, wall: float) -> FoldResult:
    expected = task.expected[fold]
    ids = item.get("ids")
    if not isinstance(ids, list) or len(ids) != len(expected) or set(ids) != set(expected):
        raise Invalid(f"the ids are not exactly the fold's {len(expected)} test samples")
    k = len(task.classes)
    pred = item.get("pred")
    if not isinstance(pred, list) or len(pred) != len(ids) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 <= p < k for p in pred):
        raise Invalid(f"predictions must be {len(ids)} class indices in [0, {k})")
    proba = item.get("proba")
    if proba is not None:
        if not isinstance(proba, list) or len(proba) != len(ids) or not all(
                isinstance(row, list) and len(row) == k and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                and math.isfinite(x) and x >= 0 for x in row)
                for row in proba):
            raise Invalid(f"probabilities must be a finite non-negative ({len(ids)}, {k}) array")
        proba = np.asarray(proba, dtype=float)
        proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
    records, dropped = _records(item.get("records"))
    facts = {**isolation, **{k_: done[k_] for k_ in ("processes_alive_at_result", "processes_left_at_end",
                                                      "survivors", "labels_fetched", "cache") if k_ in done}}
    if dropped:
        facts["bundle_records_dropped"] = dropped
    records.update({"sandbox": str(isolation.get("landlock", "unknown")), "isolation": facts,
                    "log": str(task.log_path)})
    if task.batched:
        records["fold_batched"] = True
    return FoldResult(task.seed, fold, [task.uid_of[i] for i in ids], np.asarray(pred, dtype=np.int64), proba,
                      records, wall)


def _records(value: Any) -> tuple[dict, list[str]]:
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise Invalid("records must be a mapping")
    if len(json.dumps(value)) > MAX_RECORDS_BYTES:
        raise Invalid(f"records are over {MAX_RECORDS_BYTES} bytes")
    dropped = sorted(k for k in value if k in RESERVED)
    return {str(k)[:200]: v for k, v in value.items() if k not in RESERVED}, dropped


def isolation_facts(value: Any) -> dict:
    """The isolation report of a fold (written before bundle code ran): a flat mapping of short scalars."""
    if not isinstance(value, dict) or len(value) > 64:
        raise Invalid("isolation report must be a small mapping")
    out = {}
    for k, v in value.items():
        if isinstance(v, (bool, int, float)) or v is None:
            out[str(k)[:64]] = v
        else:
            out[str(k)[:64]] = printable(str(v))[:300]
    return out


def progress_info(value: Any) -> dict:
    """Epoch counters of a progress message (everything else is dropped: it is shown on the terminal)."""
    if not isinstance(value, dict):
        return {}
    return {k: value[k] for k in ("epoch", "total") if isinstance(value.get(k), int) and not isinstance(value[k], bool)}
