"""Folds as Ray tasks, on an existing cluster (`--ray-address`) or a local Ray started for the run.

Isolation matches the local executors exactly: a Ray task runs only harness code, which starts a zygote on its
node and runs the fold through it (supervisor, confined bundle process), so bundle code never runs inside a Ray
worker (whose connections to Ray would let it submit unsandboxed tasks of its own). The task returns the fold's
results already validated. Each task declares `max_calls=1` and the CPUs (and GPUs) it needs. A local Ray
writes only inside the run's own temporary folder (its session files and logs), with token auth off. For a
multi-node cluster, HARNESS_HOME's cache (with the staged frames) and HARNESS_STAGING_DIR must be on storage
every node sees.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from harness.errors import BadInput
from harness.runner.executors import Executor, ProgressFn
from harness.runner.results import FoldTask, failure
from harness.runner.worker import FoldResult


def _run_fold(task: FoldTask) -> list[FoldResult]:
    """The Ray task: harness code only (a zygote of its own on this node, then the usual fold processes)."""
    from harness.runner.executors import run_tasks
    from harness.runner.zygote import Zygote

    zygote = Zygote()
    try:
        return list(run_tasks(zygote, [task], 1))
    finally:
        zygote.close()


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_fold: float = 0.0,
                 **options):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise BadInput("the ray executor needs Ray: pip install 'harness[ray]'") from None
        super().__init__(workers or os.cpu_count() or 1, **options)
        self.address = address
        self.gpus_per_fold = float(gpus_per_fold)
        self._started_here = False
        self._temp_dir: Path | None = None
        self._own_temp: Path | None = None

    def prepare(self, run_dir: Path) -> None:
        """Called by the runner with the run's private folder before any fold is submitted.

        Ray puts Unix sockets ~60 characters deep in its temp folder and AF_UNIX paths stop at 107 bytes, so when
        the run folder's path is long, Ray gets a short private folder of its own (removed at close).
        """
        wanted = Path(run_dir) / "ray"
        if len(str(wanted)) > 40:
            import tempfile

            wanted = Path(tempfile.mkdtemp(prefix="hray-", dir="/tmp" if os.path.isdir("/tmp") else None))
            self._own_temp = wanted
        self._temp_dir = wanted

    def _ensure_ray(self):
        import ray

        if ray.is_initialized():
            return ray
        if self.address:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
        else:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else Ray writes ~/.ray/auth_token
            temp = self._temp_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "harness-ray"
            temp.mkdir(parents=True, exist_ok=True)
            ray.init(num_cpus=self.workers * self.threads_per_fold(), include_dashboard=False, log_to_driver=False,
                     _temp_dir=str(temp), configure_logging=False)
            self._started_here = True
        return ray

    def map(self, tasks: Sequence[FoldTask], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        if not tasks:
            return
        ray = self._ensure_ray()
        remote = ray.remote(num_cpus=self.threads_per_fold(len(tasks)), num_gpus=self.gpus_per_fold, max_calls=1,
                            max_retries=0)(_run_fold)
        pending = {remote.remote(task): task for task in tasks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            task = pending.pop(ref)
            try:
                yield from ray.get(ref)
            except Exception as exc:  # the worker died or Ray failed: report it as this fold's failure
                yield from failure(task, f"ray task failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False
        if self._own_temp is not None:
            import shutil

            shutil.rmtree(self._own_temp, ignore_errors=True)
            self._own_temp = None
