"""A validated submission's folds as the runner runs them: each fold's job (training view without labels, test
view without labels, emotion or action units), the supervisor's launch, and the loop that runs them on an
executor and hands each validated result to the caller as it ends (the caller records it).

The runner knows nothing of the store or the boards: `run_folds` yields results; whoever asked for the run
commits them (harness/evaluate/record.py).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence


@dataclass(frozen=True)
class RunPlan:
    """What the runner needs of a validated submission to run its folds."""

    bundle: Any                  # harness.bundles.manifest.Bundle
    classes: tuple[str, ...]
    protocol: str
    version: str
    phase: str | None
    team: str
    profile: str
    config: dict = field(hash=False)
    device: str
    data_root: str
    fingerprint: str             # of the data (the cache scope of a fold that read its labels names it)
    test_keyframes: bool
    sandbox: bool
    time_limit_s: float
    threads: int                 # per fold, as the executor runs them
    quiet: bool
    log_dir: Path


def identity(**parts: Any) -> str:
    """sha256 of the JSON of `parts`: same parts, same identity."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def _context(plan: RunPlan, phase: str | None, work_dir: Path, threads: int) -> dict:
    return {"classes": plan.classes, "protocol": plan.protocol, "phase": phase, "device": plan.device,
            "profile": plan.profile, "config": dict(plan.config), "cache_dir": work_dir / "cache",
            "work_dir": work_dir, "threads": threads, "quiet": plan.quiet}


def _launch(plan: RunPlan, job, labels: dict, work_dir: Path):
    from harness.paths import cache_dir, harness_home, store_path
    from harness.runner.staging import frame_store
    from harness.runner.supervisor import Launch

    namespace = hashlib.sha256(f"{plan.team}\0{plan.bundle.code_hash}".encode()).hexdigest()[:32]
    # What the fold may learn: these labels (of this protocol, phase, fold and data), nothing else.
    knowledge = identity(protocol=plan.protocol, version=plan.version, phase=plan.phase, folds=job.folds,
                         data=plan.fingerprint, labelled=sorted(labels))[:32]
    private = [str(harness_home()), str(cache_dir()), str(Path(store_path()).parent)]
    return Launch(job=job, labels=labels, work_dir=str(work_dir), frames_root=str(frame_store()),
                  bundle_dir=str(plan.bundle.path), data_roots=[plan.data_root], private=private,
                  cache_root=str(Path(cache_dir()) / "preprocess"), namespace=namespace, knowledge=knowledge,
                  device=plan.device, sandbox=plan.sandbox)


def fold_task(plan: RunPlan, table, fold, seed: int, staged: dict, ids: dict, run_dir: Path):
    """One fold: its training rows (labels withheld until first read) and test rows, in confined processes."""
    from harness.runner.labels import label_table, strip_labels
    from harness.runner.results import FoldTask
    from harness.runner.views import test_set, train_set
    from harness.runner.worker import FoldJob

    work = run_dir / "work" / safe(f"{seed}/{fold.name}")
    train = train_set(table, fold.train, staged, plan.classes)
    test = test_set(table, fold.test, staged, plan.classes, plan.test_keyframes)
    job = FoldJob(seed=seed, fold=fold.name, bundle=plan.bundle, config=dict(plan.config), train=strip_labels(train),
                  test=test, context=_context(plan, plan.phase, work, plan.threads))
    uid_of = {v: k for k, v in ids.items()}
    return FoldTask(_launch(plan, job, label_table(train), work), seed, [fold.name], {fold.name: test.ids},
                    {i: uid_of[i] for i in test.ids}, plan.classes, plan.log_dir / f"seed{seed}-{safe(fold.name)}.log",
                    plan.time_limit_s)


def batched_task(plan: RunPlan, table, folds, seed: int, staged: dict, ids: dict, run_dir: Path):
    """All of a seed's missing folds as one stacked model (`--fold-batched`): one process sees every label."""
    import numpy as np

    from harness.runner.labels import label_table, strip_labels
    from harness.runner.results import FoldTask
    from harness.runner.views import train_set
    from harness.runner.worker import BatchedJob

    n = len(table)
    masks = np.zeros((len(folds), n), dtype=bool)
    for f, fold in enumerate(folds):
        masks[f, list(fold.train)] = True
    work = run_dir / "work" / f"batched-{seed}"
    everything = train_set(table, range(n), staged, plan.classes)
    job = BatchedJob(seed=seed, bundle=plan.bundle, config=dict(plan.config), samples=strip_labels(everything),
                     classes=plan.classes, folds=[f.name for f in folds], train_masks=masks,
                     test_positions=[list(f.test) for f in folds],
                     context=_context(plan, None, work, plan.threads))
    expected = {f.name: [everything[i].sample_id for i in f.test] for f in folds}
    uid_of = {v: k for k, v in ids.items()}
    return FoldTask(_launch(plan, job, label_table(everything), work), seed, job.folds, expected, uid_of,
                    plan.classes, plan.log_dir / f"seed{seed}-batched.log", plan.time_limit_s * len(folds),
                    batched=True)


def probe(plan: RunPlan, executor, seed: int) -> str | None:
    """Build the bundle with the run's settings in a confined fold (no data); the error it gives, or None."""
    from harness.api import TestSet
    from harness.runner.labels import label_table
    from harness.runner.results import FoldTask
    from harness.runner.staging import new_run_dir
    from harness.runner.worker import FoldJob

    run_dir = new_run_dir("preflight")
    try:
        work = run_dir / "work"
        job = FoldJob(seed=seed, fold="preflight", bundle=plan.bundle, config=dict(plan.config), train=[],
                      test=TestSet([], plan.classes), context=_context(plan, plan.phase, work, 1), probe=True)
        task = FoldTask(_launch(plan, job, label_table([]), work), seed, ["preflight"], {"preflight": []},
                        {}, plan.classes, run_dir / "preflight.log", min(plan.time_limit_s, 600.0))
        for result in executor.map([task]):
            if result.error:
                return result.error
        return None
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def run_folds(executor, tasks: Sequence, total: int, done: int, quiet: bool, title: str,
              on_result: Callable[[Any], None]) -> None:
    """Run fold tasks; each validated result goes to `on_result` as soon as its fold ends (a failed fold
    included: `on_result` decides). A progress bar on a terminal unless `quiet`."""
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, desc=title, unit="fold", disable=quiet or not sys.stderr.isatty(),
               leave=False, dynamic_ncols=True)

    def on_progress(seed: int, fold: str, info: dict) -> None:
        if info.get("epoch") is not None and info.get("total"):
            bar.set_postfix_str(f"seed {seed} fold {fold}: epoch {info['epoch']}/{info['total']}")

    try:
        results: Iterator = executor.map(tasks, on_progress)
        for result in results:
            on_result(result)
            bar.update(1)
    finally:
        bar.close()
