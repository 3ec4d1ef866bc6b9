"""One fold's bundle process: confine itself, fit on the training view, predict the test view, report.

It is forked by the fold's supervisor (harness/runner/supervisor.py), itself forked from the harness's zygote, a
clean process that never held the task (zygote.py). Why:
- the process never holds the full SampleTable, so no object, stack frame or global reachable from bundle code
  contains test labels; the job arrives without even the training labels, which are fetched on first read
  (labels.py), so that what the fold shares before that carries none (foldcache.py);
- nothing a bundle keeps (a global, a class attribute, a daemon process) survives from a fold where a subject was
  in training into the fold where that subject is tested: every process of the fold dies with it;
- every layer of confinement (isolation.py) is in place before the first line of bundle code runs;
- what goes back is data, never a pickle: JSON messages to the supervisor, which the harness validates again.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import Context, Prediction, Sample, TestSet, TrainSet
from harness.runner import channel


@dataclass
class FoldJob:
    """What a fold's bundle process receives: no label anywhere (they come from the supervisor on demand)."""

    seed: int
    fold: str
    bundle: Any              # harness.bundles.manifest.Bundle
    config: dict[str, Any]
    train: list[Sample]
    test: TestSet
    context: dict[str, Any]  # Context fields except seed/fold/progress
    probe: bool = False      # only build the bundle from its settings (the harness's check before a run)

    @property
    def folds(self) -> list[str]:
        return [self.fold]

    @property
    def samples(self) -> list[Sample]:
        return [*self.train, *self.test]


@dataclass
class BatchedJob:
    """All missing LOSO folds of one seed, trained at once by the harness's stacked trainer (--fold-batched)."""

    seed: int
    bundle: Any
    config: dict[str, Any]
    samples: list[Sample]              # every sample of the task (each is training data of some fold)
    classes: tuple[str, ...]
    folds: list[str]
    train_masks: np.ndarray            # (F, N) bool
    test_positions: list[list[int]]    # per fold, positions in `samples`
    context: dict[str, Any]

    @property
    def fold(self) -> str:
        return f"{len(self.folds)} folds (batched)"


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


class Link:
    """The bundle process's end of its channel to the supervisor (thread-safe: one exchange at a time)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._lock = threading.Lock()

    def tell(self, header: dict, payload: bytes = b"") -> None:
        with self._lock:
            channel.send(self.fd, header, payload)

    def ask(self, header: dict, payload: bytes = b"") -> tuple[dict, bytes]:
        with self._lock:
            channel.send(self.fd, header, payload)
            return channel.recv(self.fd)


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


def _context(job, link: Link, fold: str) -> Context:
    from harness.runner.foldcache import fold_preprocessor

    def progress(**info: Any) -> None:
        link.tell({"op": "progress", "info": jsonable(info)})

    from harness.runner.inner import inner_split

    fields = job.context
    return Context(seed=job.seed, fold=fold, progress=progress, inner_splitter=inner_split,
                   preprocessor=fold_preprocessor(link, fields["cache_dir"], fields.get("threads", 1)), **fields)


def _labels(link: Link):
    from harness.runner.labels import LabelSource

    def fetch() -> dict[str, tuple]:
        header, _ = link.ask({"op": "labels"})
        return {k: tuple(v) for k, v in header["labels"].items()}

    return LabelSource(fetch)


def execute(job: FoldJob, link: Link) -> list[FoldResult]:
    """Run one fold. Never raises: a failure comes back as FoldResult.error with the traceback."""
    from harness.bundles.loader import instantiate
    from harness.runner.labels import with_deferred_labels

    result = FoldResult(job.seed, job.fold)
    if job.probe:
        try:
            instantiate(job.bundle, job.config)
            result.pred = np.zeros(0, dtype=np.int64)
        except BaseException as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        return [result]
    try:
        from harness.preprocess.timing import CLOCK, stage

        seed_everything(job.seed, job.context.get("threads", 1), job.context.get("device", "cpu"))
        ctx = _context(job, link, job.fold)
        train = TrainSet(with_deferred_labels(job.train, _labels(link)), job.test.classes)
        submission = instantiate(job.bundle, job.config)
        with stage("fit"):  # exclusive: what fit spends outside preprocessing and feature extraction
            submission.fit(train, ctx)
        with stage("predict"):
            out = submission.predict(job.test, ctx)
        pred, proba = normalise_output(out, job.test)
        result.sample_ids, result.pred, result.proba = job.test.ids, pred, proba
        result.records = {**ctx.records, "timings": CLOCK.report()}  # measured here, in the fold's process
    except BaseException as exc:  # a bundle's failure is reported, not propagated into the harness
        result.error = failure_text(exc)
    return [result]


def execute_batched(job: BatchedJob, link: Link) -> list[FoldResult]:
    """Train all of a seed's folds as one stacked model; one FoldResult per fold (errors reported per fold)."""
    import zlib

    from harness.kit.nn.batched import fit_folds
    from harness.kit.nn.training import count_parameters
    from harness.bundles.loader import instantiate
    from harness.runner.labels import with_deferred_labels

    try:
        seed_everything(job.seed, job.context.get("threads", 1), job.context.get("device", "cpu"))
        ctx = _context(job, link, "all")
        samples = TrainSet(with_deferred_labels(job.samples, _labels(link)), job.classes)
        submission = instantiate(job.bundle, job.config)
        if not callable(getattr(submission, "batched_spec", None)):
            raise ValueError(f"bundle {job.bundle.name} does not support --fold-batched (it has no batched_spec)")
        spec = submission.batched_spec(ctx)
        features = [np.asarray(x) for x in spec.features(TestSet(job.samples, job.classes), ctx)]
        masks = np.asarray(job.train_masks, dtype=bool)
        if spec.trainable is not None:
            masks = masks & np.asarray(spec.trainable(features), dtype=bool)[None, :]
        scales = None
        if spec.input_scale is not None:
            scales = [float(spec.input_scale([x[m] for x in features])) for m in masks]
        seeds = [int(spec.init_seed(f)) for f in job.folds] if spec.init_seed is not None else None
        rngs = [np.random.default_rng([job.seed, zlib.crc32(f.encode()), 101]) for f in job.folds]
        features = features[:spec.model_inputs] if spec.model_inputs else features
        stacked = fit_folds(spec.make_model, features, samples.labels, masks, spec.train_config, rngs,
                            ctx.device, len(job.classes), job.seed, ctx.progress, init_seeds=seeds,
                            input_scales=scales)
        n_params = count_parameters(spec.make_model())
        results = []
        for f, fold in enumerate(job.folds):
            pos = job.test_positions[f]
            proba = stacked.predict_proba(f, [x[pos] for x in features], ctx.device)
            results.append(FoldResult(job.seed, fold, [job.samples[i].sample_id for i in pos], proba.argmax(1), proba,
                                      {"n_params": n_params}))
        return results
    except BaseException as exc:
        err = failure_text(exc)
        return [FoldResult(job.seed, fold, error=err) for fold in job.folds]


def failure_text(exc: BaseException) -> str:
    """The cause on the first line (what a one-line summary keeps), then the traceback."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}\n{traceback.format_exc(limit=30)}"


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of what a bundle recorded (numpy scalars and arrays as numbers and lists, NaN as
    None, anything else as its repr), so that a record never stops a result from being sent."""
    if depth > 8:
        return repr(value)[:200]
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), depth + 1)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v, depth + 1) for v in value]
    return repr(value)[:200]


def result_message(results: list[FoldResult]) -> dict:
    return {"op": "result", "results": [
        {"fold": r.fold, "ids": list(map(str, r.sample_ids)),
         "pred": None if r.pred is None else [int(v) for v in r.pred],
         "proba": None if r.proba is None else [[float(x) for x in row] for row in np.asarray(r.proba)],
         "records": jsonable(r.records), "error": r.error} for r in results]}


def relocate(job, moved: dict[str, str]):
    """The job with the fold's folders at the places its view shows them (see fsview.py)."""
    import dataclasses

    if not moved:
        return job

    def where(path) -> str:
        path = str(path)
        for host, view in moved.items():
            if path == host or path.startswith(host.rstrip("/") + "/"):
                return view + path[len(host.rstrip("/")):]
        return path

    def sample(s):
        return dataclasses.replace(s, frames_dir=where(s.frames_dir))

    context = {**job.context, "work_dir": Path(where(job.context["work_dir"])),
               "cache_dir": Path(where(job.context["cache_dir"]))}
    if isinstance(job, BatchedJob):
        return dataclasses.replace(job, samples=[sample(s) for s in job.samples], context=context)
    return dataclasses.replace(job, train=[sample(s) for s in job.train], context=context,
                               test=TestSet([sample(s) for s in job.test], job.test.classes))


def bundle_main(fd: int, log_fd: int, facts: dict) -> None:
    """Entry point of the bundle process (never returns); `facts`: what its parent set up (PID namespace)."""
    from harness.runner.isolation import confine, die_with_parent

    code = 0
    try:
        die_with_parent()
        plan = channel.recv_pickle(fd, "plan")
        held, moved = confine(plan["sandbox"], {fd}, log_fd, plan["work_dir"], plan["frames_root"],
                              plan["namespaces"])
        channel.send(fd, {"op": "isolated", "facts": jsonable({**facts, **held})})
        job = relocate(channel.recv_pickle(fd, "job"), moved)
        link = Link(fd)
        t0 = time.perf_counter()
        results = (execute_batched if isinstance(job, BatchedJob) else execute)(job, link)
        for r in results:
            r.wall_s = time.perf_counter() - t0
        link.tell(result_message(results))
    except BaseException:
        code = 1
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
