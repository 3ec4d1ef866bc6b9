"""Executors run fold jobs and hand results back to the process that owns the store.

`serial`: one fold process at a time; `local`: up to N fold processes at once on this machine (threads per
process limited so that they don't fight); `ray`: folds as Ray tasks (harness.runner.ray_executor). Every
executor runs each fold in a fresh process, so results are the same whichever is used.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from contextlib import contextmanager
from abc import ABC, abstractmethod
from multiprocessing.connection import wait
from typing import Callable, Iterator, Sequence

from harness.registry import Registry
from harness.runner.worker import FoldJob, FoldResult

ProgressFn = Callable[[int, str, dict], None]

# Imported once by the fork server so that each fold process starts warm (fork, not a fresh interpreter).
PRELOAD = ["harness.runner.warm", "harness.runner.worker", "harness.api"]

_CTX = None


def fork_context():
    """The process factory for folds: a fork server that never saw the task (clean), where available."""
    global _CTX
    if _CTX is None:
        if "forkserver" in mp.get_all_start_methods():
            _CTX = mp.get_context("forkserver")
            _CTX.set_forkserver_preload(PRELOAD)
        else:  # Windows: spawn is also a fresh interpreter, only slower to start
            _CTX = mp.get_context("spawn")
    return _CTX


@contextmanager
def _without_main_module():
    """Start fold processes without re-importing the parent's __main__ (multiprocessing's default).

    Fold processes need only harness and the bundle; re-running the caller's script (a notebook, stdin, a
    script without a __main__ guard) would be slow at best and wrong at worst.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__spec__", "__file__") if main is not None and hasattr(main, k)}
    try:
        if main is not None:
            main.__spec__ = None
            if hasattr(main, "__file__"):
                del main.__file__
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


class Executor(ABC):
    name = ""

    def __init__(self, workers: int = 1, **options):
        self.workers = max(1, int(workers))
        self.options = options

    def threads_per_fold(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)

    @abstractmethod
    def map(self, jobs: Sequence[FoldJob], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        """Yield results as folds finish (any order)."""

    def close(self) -> None:
        pass


class ProcessPoolOfFolds(Executor):
    """Runs at most `workers` fold processes at a time, each forked fresh for one fold."""

    def map(self, jobs: Sequence[FoldJob], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        ctx = fork_context()
        pending = list(jobs)[::-1]
        running: dict = {}  # connection -> (process, job)
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    job = pending.pop()
                    recv, send = ctx.Pipe(duplex=False)
                    from harness.runner.worker import child_main

                    proc = ctx.Process(target=child_main, args=(send, job), name=f"fold-{job.seed}-{job.fold}")
                    with _without_main_module():
                        proc.start()
                    send.close()
                    running[recv] = (proc, job)
                for conn in wait(list(running), timeout=1.0):
                    proc, job = running[conn]
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        proc.join(timeout=5)
                        del running[conn]
                        error = f"the fold process died (exit code {proc.exitcode}) before returning a result"
                        yield from [FoldResult(job.seed, f, error=error) for f in getattr(job, "folds", [job.fold])]
                        continue
                    if msg[0] == "progress":
                        if progress is not None:
                            progress(msg[1], msg[2], msg[3])
                        continue
                    del running[conn]
                    proc.join(timeout=30)
                    conn.close()
                    yield from msg[1]
        finally:
            for conn, (proc, _) in running.items():
                if proc.is_alive():
                    proc.kill()
                proc.join(timeout=5)
                conn.close()


class SerialExecutor(ProcessPoolOfFolds):
    name = "serial"

    def __init__(self, workers: int = 1, **options):
        super().__init__(1, **options)


class LocalExecutor(ProcessPoolOfFolds):
    name = "local"

    def __init__(self, workers: int | None = None, **options):
        super().__init__(workers or os.cpu_count() or 1, **options)


EXECUTORS: Registry = Registry("executor")
EXECUTORS.register("serial", SerialExecutor)
EXECUTORS.register("local", LocalExecutor)
EXECUTORS.register("ray", "harness.runner.ray_executor:RayExecutor")


def make_executor(name: str, workers: int | None = None, **options) -> Executor:
    cls = EXECUTORS.get(name)
    return cls(workers, **options) if workers is not None else cls(**options)
