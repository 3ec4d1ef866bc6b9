"""One fold in one fresh process: fit on the training view, predict the test view, return the predictions.

Why a fresh process per fold (forked from a clean fork server, never from the process holding the task):
- the process never holds the full SampleTable, so no object, stack frame or global reachable from bundle code
  contains test labels;
- nothing a bundle keeps (a global, a class attribute) survives from a fold where a subject was in training into
  the fold where that subject is tested;
- a crash, a leak or a hung native library takes down one fold, not the run.
The process also forgets where the data lives: HARNESS_* variables and the command line are cleared and the
working directory is the fold's private scratch folder.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from harness.api import Context, Prediction, TestSet, TrainSet


@dataclass
class FoldJob:
    seed: int
    fold: str
    bundle: Any            # harness.runner.bundle.Bundle
    config: dict[str, Any]
    train: TrainSet
    test: TestSet
    context: dict[str, Any]  # Context fields except seed/fold/progress
    sandbox: Any = None      # harness.runner.sandbox.SandboxPlan, applied before bundle code runs

    def run(self, progress: Callable[..., None] | None = None) -> list["FoldResult"]:
        return [execute(self, progress)]


@dataclass
class BatchedJob:
    """All missing LOSO folds of one seed, trained at once by the harness's stacked trainer (--fold-batched)."""

    seed: int
    bundle: Any
    config: dict[str, Any]
    samples: TrainSet                  # every sample of the task, labelled (each is training data of some fold)
    folds: list[str]
    train_masks: np.ndarray            # (F, N) bool
    test_positions: list[list[int]]    # per fold, positions in `samples`
    context: dict[str, Any]
    sandbox: Any = None

    @property
    def fold(self) -> str:
        return f"{len(self.folds)} folds (batched)"

    def run(self, progress: Callable[..., None] | None = None) -> list["FoldResult"]:
        return execute_batched(self, progress)


@dataclass
class FoldResult:
    seed: int
    fold: str
    sample_ids: list[str] = field(default_factory=list)
    pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    records: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    error: str | None = None


def _forget_environment(work_dir: str) -> None:
    for var in [v for v in os.environ if v.startswith("HARNESS_")]:
        del os.environ[var]
    sys.argv[:] = ["harness-fold"]
    os.chdir(work_dir)
    import tempfile

    # Libraries' scratch files go to the fold's own folder (the sandbox allows writing nowhere else).
    for var in ("TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME"):
        os.environ[var] = str(work_dir)
    tempfile.tempdir = str(work_dir)


def _enter_fold(work_dir, sandbox) -> str:
    """Forget where the data lives and give up filesystem rights; returns the sandbox status (recorded)."""
    os.makedirs(work_dir, exist_ok=True)
    _forget_environment(work_dir)
    if sandbox is None:
        return "none (disabled)"
    from harness.runner.sandbox import restrict

    return restrict(sandbox)


def seed_everything(seed: int, threads: int, device: str) -> None:
    """Same seed, same machine -> same predictions (CPU). Recorded with the run."""
    import random

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - scikit-learn ships threadpoolctl
        pass
    if "torch" in sys.modules or device == "cuda":
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(max(1, threads))
        if device == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.cuda.manual_seed_all(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def normalise_output(out: Any, test: TestSet) -> tuple[np.ndarray, np.ndarray | None]:
    """Accept Prediction, a list of names/indices, or (labels, proba); return class indices and probabilities."""
    classes = [c.lower() for c in test.classes]
    proba = None
    if isinstance(out, Prediction):
        labels, proba = out.labels, out.proba
    elif isinstance(out, tuple) and len(out) == 2 and not isinstance(out[0], (str, int, np.integer)):
        labels, proba = out
    else:
        labels = out
    labels = list(labels)
    if len(labels) != len(test):
        raise ValueError(f"predict returned {len(labels)} predictions for {len(test)} test samples")
    idx = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        if isinstance(lab, (int, np.integer)) and 0 <= int(lab) < len(classes):
            idx[i] = int(lab)
        elif isinstance(lab, str) and lab.strip().lower() in classes:
            idx[i] = classes.index(lab.strip().lower())
        else:
            raise ValueError(f"prediction {lab!r} for {test[i].sample_id} is not a class of {tuple(test.classes)}")
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(test), len(classes)) or not np.all(np.isfinite(proba)) or (proba < 0).any():
            raise ValueError(f"probabilities must be a finite non-negative ({len(test)}, {len(classes)}) array")
        proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
    return idx, proba


def execute(job: FoldJob, progress: Callable[..., None] | None = None) -> FoldResult:
    """Run one fold. Never raises: a failure comes back as FoldResult.error with the traceback."""
    from harness.runner.bundle import instantiate

    t0 = time.perf_counter()
    result = FoldResult(job.seed, job.fold)
    try:
        status = _enter_fold(job.context["work_dir"], job.sandbox)
        seed_everything(job.seed, job.context.get("threads", 1), job.context.get("device", "cpu"))
        ctx = Context(seed=job.seed, fold=job.fold, progress=progress, **job.context)
        ctx.record("sandbox", status)
        submission = instantiate(job.bundle, job.config)
        submission.fit(job.train, ctx)
        pred, proba = normalise_output(submission.predict(job.test, ctx), job.test)
        result.sample_ids, result.pred, result.proba = job.test.ids, pred, proba
        result.records = {k: v for k, v in ctx.records.items()}
    except BaseException:  # a bundle's failure is reported, not propagated into the harness
        result.error = traceback.format_exc(limit=30)
    result.wall_s = time.perf_counter() - t0
    return result


def execute_batched(job: BatchedJob, progress: Callable[..., None] | None = None) -> list[FoldResult]:
    """Train all of a seed's folds as one stacked model; one FoldResult per fold (errors reported per fold)."""
    import zlib

    from harness.api import Sample
    from harness.nn.batched import fit_folds
    from harness.nn.training import count_parameters
    from harness.runner.bundle import instantiate

    t0 = time.perf_counter()
    try:
        status = _enter_fold(job.context["work_dir"], job.sandbox)
        seed_everything(job.seed, job.context.get("threads", 1), job.context.get("device", "cpu"))
        ctx = Context(seed=job.seed, fold="all", progress=progress, **job.context)
        submission = instantiate(job.bundle, job.config)
        if not callable(getattr(submission, "batched_spec", None)):
            raise ValueError(f"bundle {job.bundle.name} does not support --fold-batched (it has no batched_spec)")
        spec = submission.batched_spec(ctx)
        fields = [f for f in Sample.__dataclass_fields__]
        unlabelled = TestSet([Sample(**{f: getattr(s, f) for f in fields}) for s in job.samples], job.samples.classes)
        features = [np.asarray(x) for x in spec.features(unlabelled, ctx)]
        masks = np.asarray(job.train_masks, dtype=bool)
        if spec.trainable is not None:
            masks = masks & np.asarray(spec.trainable(features), dtype=bool)[None, :]
        scales = None
        if spec.input_scale is not None:
            scales = [float(spec.input_scale([x[m] for x in features])) for m in masks]
        seeds = [int(spec.init_seed(f)) for f in job.folds] if spec.init_seed is not None else None
        rngs = [np.random.default_rng([job.seed, zlib.crc32(f.encode()), 101]) for f in job.folds]
        features = features[:spec.model_inputs] if spec.model_inputs else features
        stacked = fit_folds(spec.make_model, features, job.samples.labels, masks, spec.train_config, rngs,
                            ctx.device, len(job.samples.classes), job.seed, progress, init_seeds=seeds,
                            input_scales=scales)
        n_params = count_parameters(spec.make_model())
        results = []
        wall = (time.perf_counter() - t0) / max(1, len(job.folds))
        for f, fold in enumerate(job.folds):
            pos = job.test_positions[f]
            proba = stacked.predict_proba(f, [x[pos] for x in features], ctx.device)
            results.append(FoldResult(job.seed, fold, [job.samples[i].sample_id for i in pos], proba.argmax(1), proba,
                                      {"fold_batched": True, "n_params": n_params, "sandbox": status}, wall))
        return results
    except BaseException:
        err = traceback.format_exc(limit=30)
        return [FoldResult(job.seed, fold, error=err) for fold in job.folds]


def child_main(conn, job: FoldJob | BatchedJob) -> None:
    """Entry point of the fold process: stream progress, then send the result(s)."""
    def progress(**info: Any) -> None:
        try:
            conn.send(("progress", job.seed, job.fold, info))
        except (BrokenPipeError, OSError):
            pass

    _die_with_parent()
    conn.send(("result", job.run(progress)))
    conn.close()


def _die_with_parent() -> None:
    """Linux: end this fold if the fork server (and so the harness) goes away, e.g. after kill -9."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
