"""Where preprocessing time goes: exclusive wall seconds per stage, cheap enough to leave on.

Why exclusive: stages nest (a face needs landmarks, a flow needs aligned frames, which need frames read), so a
stage's clock pauses while a stage inside it runs, and the stages of one clock add up to the time spent in
them, never more. Two reads of the monotonic clock per stage entered (tens of nanoseconds: no system call;
a CPU-time clock would cost a system call each, as much as a small cache read), against milliseconds of work. One clock per process (`CLOCK`): a fold's supervisor and its bundle
process each report their own. The scale benchmark (tests/bench/scale.py) reads these; nothing reads them to
decide anything, so they cannot change a result.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from typing import Iterator

#: Stages the Preprocessor reports, in pipeline order.
STAGES = ("read", "landmarks", "align", "flow", "regions", "cache")


class StageClock:
    """Exclusive time per named stage (per thread: a stage entered in one thread never pauses another's)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._local = threading.local()

    def _stack(self) -> list:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        stack = self._stack()
        now = time.perf_counter()
        if stack:  # the enclosing stage pauses
            self.wall[stack[-1][0]] += now - stack[-1][1]
        stack.append([name, now])
        self.calls[name] += 1
        try:
            yield
        finally:
            now = time.perf_counter()
            top = stack.pop()
            self.wall[top[0]] += now - top[1]
            if stack:  # ... and resumes
                stack[-1][1] = now

    def report(self) -> dict[str, dict[str, float]]:
        """{stage: {"wall_s", "calls"}} for every stage entered, rounded to milliseconds."""
        return {name: {"wall_s": round(self.wall[name], 3), "calls": self.calls[name]} for name in sorted(self.calls)}


#: This process's clock.
CLOCK = StageClock()


def stage(name: str):
    """`with stage("flow"): ...` on this process's clock."""
    return CLOCK.stage(name)


def merge(*reports: dict) -> dict[str, dict[str, float]]:
    """The sum of several `report()`s (folds, processes)."""
    out: dict[str, dict[str, float]] = {}
    for report in reports:
        for name, v in (report or {}).items():
            slot = out.setdefault(name, {"wall_s": 0.0, "calls": 0})
            slot["wall_s"] = round(slot["wall_s"] + float(v.get("wall_s", 0)), 3)
            slot["calls"] += int(v.get("calls", 0))
    return out
