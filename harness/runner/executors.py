"""Executors run fold tasks and hand validated results back to the process that owns the store.

`serial`: one fold at a time; `local`: up to N folds at once on this machine (threads per fold limited so that
they don't fight); `ray`: folds as Ray tasks (harness.runner.ray_executor). Every executor runs each fold the same
way, through `run_tasks`: a supervisor forked from the harness's zygote, which forks the fold's confined bundle
process; so results are the same whichever is used. A fold past its time limit is killed with everything it
started, and fails.
"""
from __future__ import annotations

import os
import selectors
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from harness.registry import Registry
from harness.runner import channel
from harness.runner.results import FoldTask, build_results, failure, isolation_facts, progress_info
from harness.runner.worker import FoldResult

ProgressFn = Callable[[int, str, dict], None]


@dataclass
class _Running:
    task: FoldTask
    pid: int
    fd: int
    deadline: float | None
    isolation: dict | None = None
    result: dict | None = None
    done: dict | None = None


def _start(zygote, task: FoldTask) -> _Running:
    job_r, job_w = os.pipe()
    out_r, out_w = os.pipe()
    task.log_path.parent.mkdir(parents=True, exist_ok=True)
    log = os.open(task.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = zygote.fork([job_r, out_w, log], {"sandbox": task.launch.sandbox, "log_limit": task.launch.log_limit})
    finally:
        for fd in (job_r, out_w, log):
            os.close(fd)
    try:
        channel.send_pickle(job_w, "launch", task.launch)
    except OSError:
        pass  # the supervisor died at once: reported when its output ends
    finally:
        os.close(job_w)
    deadline = time.monotonic() + task.time_limit_s if task.time_limit_s else None
    return _Running(task, pid, out_r, deadline)


def _absorb(run: _Running, header: dict, progress: ProgressFn | None) -> None:
    """Keep what a fold's supervisor reports; every field is validated before use."""
    op = header["op"]
    if op == "isolation" and run.isolation is None:
        run.isolation = isolation_facts(header.get("facts"))
    elif op == "progress" and progress is not None:
        info = progress_info(header.get("info"))
        if info:
            progress(run.task.seed, run.task.name, info)
    elif op == "result" and run.result is None:
        run.result = header
    elif op == "done" and run.done is None:
        run.done = header


def run_tasks(zygote, tasks: Sequence[FoldTask], workers: int,
              progress: ProgressFn | None = None) -> Iterator[FoldResult]:
    """Run `tasks`, at most `workers` at a time; yield each fold's (validated) result as it ends."""
    pending = list(tasks)[::-1]
    running: dict[int, _Running] = {}
    sel = selectors.DefaultSelector()
    try:
        while pending or running:
            while pending and len(running) < workers:
                run = _start(zygote, pending.pop())
                running[run.fd] = run
                sel.register(run.fd, selectors.EVENT_READ)
            timeouts = [r.deadline for r in running.values() if r.deadline is not None]
            wait = max(0.0, min(timeouts) - time.monotonic()) if timeouts else None
            for key, _ in sel.select(timeout=None if wait is None else min(wait + 0.01, 1.0)):
                run = running[key.fd]
                try:
                    header, _ = channel.recv(key.fd, max_payload=0)
                except (EOFError, OSError, channel.ProtocolError):
                    header = None
                if header is not None:
                    _absorb(run, header, progress)
                    if header["op"] != "done":
                        continue
                sel.unregister(key.fd)
                os.close(key.fd)
                del running[key.fd]
                yield from build_results(run.task, run.isolation, run.result, run.done)
            now = time.monotonic()
            for fd, run in list(running.items()):
                if run.deadline is not None and now > run.deadline:
                    zygote.kill(run.pid)
                    sel.unregister(fd)
                    os.close(fd)
                    del running[fd]
                    yield from failure(run.task, f"the fold ran past its time limit of {run.task.time_limit_s:g} s "
                                                 "and was killed, with every process it started")
    finally:
        for fd, run in running.items():
            zygote.kill(run.pid)
            try:
                sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)


class Executor(ABC):
    name = ""

    def __init__(self, workers: int = 1, **options):
        self.workers = max(1, int(workers))
        self.options = options

    def threads_per_fold(self, tasks: int | None = None) -> int:
        """The cores each fold may use: the machine's, shared by the folds that run at once. With `tasks` (how
        many fold processes the run has), fewer tasks than workers share the cores among themselves: a phase
        protocol's single fold, or one --fold-batched model, gets every core, not 1/workers of them."""
        at_once = min(self.workers, tasks) if tasks else self.workers
        return max(1, (os.cpu_count() or 1) // max(1, at_once))

    @abstractmethod
    def map(self, tasks: Sequence[FoldTask], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        """Yield results as folds finish (any order)."""

    def close(self) -> None:  # noqa: B027 - a default, not an abstract method: most executors hold nothing
        pass


class ProcessPoolOfFolds(Executor):
    """Runs at most `workers` folds at a time, each in processes forked fresh from the harness's zygote."""

    def map(self, tasks: Sequence[FoldTask], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        from harness.runner.zygote import shared_zygote

        yield from run_tasks(shared_zygote(), tasks, self.workers, progress)


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
