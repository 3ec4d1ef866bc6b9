"""Folds as Ray tasks, on an existing cluster (`--ray-address`) or a local Ray started for the run.

Isolation matches the local executors: each task declares `max_calls=1`, so Ray retires the worker process after
one fold and nothing a bundle keeps survives into another fold. Each task declares the CPUs (and GPUs) it needs.
A local Ray writes only inside the run's own temporary folder (its session files and logs), with token auth off.
For a multi-node cluster the staged frames must be on storage every node sees: set HARNESS_STAGING_DIR to it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from harness.errors import BadInput
from harness.runner.executors import Executor, ProgressFn
from harness.runner.worker import FoldJob, FoldResult


def _run_fold(job: FoldJob) -> list[FoldResult]:
    return job.run()


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_fold: float = 0.0,
                 **options):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise BadInput("the ray executor needs Ray: pip install 'harness[ray]'")
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

    def writable_paths(self) -> list[str]:
        """Ray's session folder: its worker processes keep writing logs there (sandbox allow-list)."""
        return [str(self._temp_dir)] if self._temp_dir is not None else []

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

    def map(self, jobs: Sequence[FoldJob], progress: ProgressFn | None = None) -> Iterator[FoldResult]:
        if not jobs:
            return
        ray = self._ensure_ray()
        remote = ray.remote(num_cpus=self.threads_per_fold(), num_gpus=self.gpus_per_fold, max_calls=1,
                            max_retries=0)(_run_fold)
        pending = {remote.remote(job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            job = pending.pop(ref)
            try:
                yield from ray.get(ref)
            except Exception as exc:  # the worker died or Ray failed: report it as this fold's failure
                error = f"ray task failed: {type(exc).__name__}: {exc}"
                yield from [FoldResult(job.seed, f, error=error) for f in getattr(job, "folds", [job.fold])]

    def close(self) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False
        if self._own_temp is not None:
            import shutil

            shutil.rmtree(self._own_temp, ignore_errors=True)
            self._own_temp = None
