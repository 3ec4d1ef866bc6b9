"""`harness submit`: train and evaluate a bundle under a protocol, fold by fold, resumably.

The flow: load bundle, protocol and data -> compute the run's identity (same code, settings and data -> same
identity) -> reuse a scored result, resume an unfinished one, or open a new submission (phase limits checked
atomically) -> stage frames -> run the missing folds (each in a fresh process) and commit each fold's
predictions as it ends -> pool, score once, record, regenerate the protocol's leaderboards.

A run killed at any point leaves whole folds in the store; running the same command again finishes the rest,
and the scores equal those of an uninterrupted run (each fold is deterministic given its seed).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.errors import BadInput, HarnessError


class FoldFailed(HarnessError):
    """A bundle raised inside a fold. Exit 1: the harness worked, the submission did not."""

    exit_code = 1


@dataclass
class SubmitOutcome:
    submission_id: int
    status: str              # "scored" (just now), "reused" (an identical run was already scored)
    report: dict
    wall_s: float
    resumed_folds: int = 0
    identity: str = ""


def resolve_device(requested: str, neural: bool) -> str:
    if requested not in ("auto", "cpu", "cuda"):
        raise BadInput(f"--device must be auto, cpu or cuda, not {requested!r}")
    if requested == "cpu" or (requested == "auto" and not neural):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise BadInput("--device cuda was asked for but torch sees no CUDA device")
    return "cpu"


def executor_options_for(executor: str, device: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Options for the executor: on CUDA, each Ray task asks for one GPU unless the caller said otherwise
    (Ray then gives the task its own CUDA_VISIBLE_DEVICES; a task that asks for none sees no GPU)."""
    options = dict(options or {})
    flags = {"address": "--ray-address", "gpus_per_fold": "--gpus-per-fold"}
    misplaced = [flags[k] for k in flags if k in options and executor != "ray"]
    if misplaced:
        raise BadInput(f"{', '.join(misplaced)} applies to --executor ray only (this run uses {executor})")
    if executor == "ray" and device == "cuda":
        options.setdefault("gpus_per_fold", 1.0)
    return options


def run_identity(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def submit(bundle_ref: str | Path, protocol: str, phase: str | None = None, team: str | None = None,
           seeds: Sequence[int] = (0,), profile: str | None = None, device: str = "auto",
           data_root: str | Path | None = None, executor: str = "serial", workers: int | None = None,
           quiet: bool = True, resume: bool = False, rerun: bool = False, host: bool = False,
           overrides: dict[str, Any] | None = None, executor_options: dict[str, Any] | None = None,
           regenerate_board: bool = True, store_path: str | Path | None = None,
           fold_batched: bool = False, sandbox: bool = True, data_options=None) -> SubmitOutcome:
    from harness.leaderboard.render import write_boards
    from harness.paths import cache_dir, resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.runner.bundle import load_bundle, resolve_bundle
    from harness.runner.executors import make_executor
    from harness.datasets.policy import DEFAULT as DEFAULT_LOAD
    from harness.runner.fingerprint import data_fingerprint, data_kind
    from harness.runner.provenance import basic_provenance, file_sha256, harness_code_hash
    from harness.store.db import open_store

    t0 = time.perf_counter()
    bundle = load_bundle(resolve_bundle(str(bundle_ref)))
    proto = get_protocol(protocol)
    phase = proto.check_phase(phase)
    seeds = sorted({int(s) for s in seeds})
    if not seeds:
        raise BadInput("--seeds must name at least one seed")
    root = resolve_data_root(data_root)
    task = build_task(proto, root, options=data_options)
    if not task.has_labels(phase):
        raise BadInput(f"the data root has no reference labels for {proto.name} {phase or ''}: cannot score")
    profile, config = bundle.resolve_config(profile, overrides)
    dev = resolve_device(device, bundle.neural)
    if fold_batched and (proto.split_kind != "loso" or not bundle.neural):
        raise BadInput("--fold-batched trains all LOSO folds of a neural bundle at once: it needs a LOSO protocol "
                       "and a bundle with `neural: true` that provides batched_spec()")
    team = team or bundle.team
    fingerprint = data_fingerprint(task)
    identity = run_identity(protocol=proto.name, version=proto.version, phase=phase, team=team, system=bundle.name,
                            kind=bundle.kind, bundle=bundle.code_hash, profile=profile, config=config, seeds=seeds,
                            data=fingerprint, harness=harness_code_hash(), device=dev,
                            **({"fold_batched": True} if fold_batched else {}),
                            **({} if sandbox else {"sandbox": False}))
    folds = task.folds(phase)
    test_rows = task.test_table(phase)
    limits = proto.phases[phase].limits if phase else None

    store = open_store(store_path)
    try:
        existing = store.find_by_identity(identity)
        scored = [s for s in existing if s.status == "scored"]
        if scored and not rerun and not resume:
            report = store.scores(scored[-1].id)
            return SubmitOutcome(scored[-1].id, "reused", report, time.perf_counter() - t0, identity=identity)
        unfinished = [s for s in existing if s.status in ("running", "failed")] if not rerun else []
        if resume and not unfinished:
            raise BadInput("--resume: no unfinished run with this bundle, protocol, settings and data "
                           "(drop --resume to start one)")
        provenance = basic_provenance()
        provenance.update({
            "bundle": {"name": bundle.name, "display_name": bundle.display_name, "path": str(bundle.path),
                       "code_hash": bundle.code_hash, "entry_point": bundle.entry_point, "paper": bundle.paper,
                       "kind": bundle.kind},
            "protocol": {"name": proto.name, "version": proto.version,
                         "file_sha256": file_sha256(proto.path) if proto.path else None},
            "phase": phase, "profile": profile, "profile_label": bundle.profile_label(profile, overrides), "config": config,
            "seeds": seeds, "device": dev,
            "executor": executor, "workers": workers, "data_root": str(root), "data_fingerprint": fingerprint,
            "data_kind": data_kind(root), "excluded": task.exclusion_summary(), "errata": task.errata_versions(),
            "data_options": (data_options or DEFAULT_LOAD).describe(),
            "isolation": ("fold-batched: one fresh process trains every fold with per-fold sample masks "
                          "(for trusted bundles)" if fold_batched else
                          "fresh process per fold (fork server), frames staged outside the data root"),
            "fold_batched": fold_batched,
            "sandbox": "filesystem allow-list per fold (Landlock where the kernel has it; see fold_records)"
                       if sandbox else "disabled (--no-sandbox)",
            "host_run": host,
        })
        if unfinished:
            sub_id = unfinished[-1].id
            if unfinished[-1].status == "failed":
                store.reopen_submission(sub_id, limits=limits)
        else:
            sub_id = store.create_submission(
                protocol=proto.name, protocol_version=proto.version, phase=phase, team=team, system=bundle.name,
                kind=bundle.kind, source="bundle", identity=identity, seeds=seeds, profile=profile,
                provenance=provenance, limits=limits, host=host)
        ex = make_executor(executor, workers, **executor_options_for(executor, dev, executor_options))
        run_dir = None
        try:
            from harness.runner.staging import new_run_dir, stage_table
            from harness.runner.views import test_set, train_set

            run_dir = new_run_dir(str(sub_id))
            if hasattr(ex, "prepare"):
                ex.prepare(run_dir)
            staged = stage_table(task.table, run_dir)
            jobs, run_ids, resumed = [], {}, 0
            for seed in seeds:
                run_id = store.ensure_run(sub_id, seed)
                run_ids[seed] = run_id
                done = store.done_folds(run_id)
                resumed += len(done)
                missing = [f for f in folds if f.name not in done]
                if fold_batched and missing:
                    job = _batched_job(bundle, config, proto, missing, seed, task, staged, dev, profile,
                                       run_dir, ex.threads_per_fold(), quiet)
                    job.sandbox = _sandbox(job, bundle, run_dir, root, ex) if sandbox else None
                    jobs.append(job)
                    continue
                for fold in missing:
                    job = _job(bundle, config, proto, phase, fold, seed, task, staged, dev, profile, run_dir,
                               ex.threads_per_fold(), quiet)
                    job.sandbox = _sandbox(job, bundle, run_dir, root, ex) if sandbox else None
                    jobs.append(job)
            _run_jobs(store, ex, jobs, run_ids, total=len(seeds) * len(folds), done=resumed, quiet=quiet,
                      title=f"{bundle.name} on {proto.name}{' ' + phase if phase else ''}")
            for seed, run_id in run_ids.items():
                store.finish_run(run_id, time.perf_counter() - t0)
            report = score_submission(store, sub_id, proto, test_rows, seeds, run_ids)
            provenance.update({"wall_s": round(time.perf_counter() - t0, 3), "fold_records": _fold_summary(
                store, run_ids), "threads_per_fold": ex.threads_per_fold()})
            store.record_scores(sub_id, report, provenance)
        except KeyboardInterrupt:
            raise  # left "running": the same command resumes it
        except BaseException as exc:
            store.fail_submission(sub_id, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            ex.close()
            if run_dir is not None:
                shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        store.close()
    if regenerate_board:
        write_boards(proto.name)
    return SubmitOutcome(sub_id, "scored", report, time.perf_counter() - t0, resumed_folds=resumed, identity=identity)


def _sandbox(job, bundle, run_dir: Path, data_root: Path, executor):
    from harness.runner.sandbox import plan_for_fold

    # Landlock can only allow a folder that exists: a fresh HARNESS_HOME has no cache folder yet, and a fold could
    # then not create it (PermissionError on the first cached preprocessing result).
    Path(job.context["cache_dir"]).mkdir(parents=True, exist_ok=True)
    return plan_for_fold(str(job.context["work_dir"]), str(run_dir / "frames"), str(job.context["cache_dir"]),
                         str(bundle.path), [str(data_root)], list(getattr(executor, "writable_paths", lambda: [])()))


def _context(proto, phase, device, profile, config, work_dir: Path, threads: int, quiet: bool) -> dict:
    from harness.paths import cache_dir

    return {"classes": proto.classes, "protocol": proto.name, "phase": phase, "device": device,
            "profile": profile, "config": dict(config), "cache_dir": cache_dir(), "work_dir": work_dir,
            "threads": threads, "quiet": quiet}


def _job(bundle, config, proto, phase, fold, seed, task, staged, device, profile, run_dir: Path, threads: int,
         quiet: bool):
    from harness.runner.views import test_set, train_set
    from harness.runner.worker import FoldJob

    safe = hashlib.sha1(f"{seed}/{fold.name}".encode()).hexdigest()[:12]
    context = _context(proto, phase, device, profile, config, run_dir / "work" / safe, threads, quiet)
    return FoldJob(seed=seed, fold=fold.name, bundle=bundle, config=dict(config),
                   train=train_set(task.table, fold.train, staged, proto.classes),
                   test=test_set(task.table, fold.test, staged, proto.classes, proto.test_keyframes),
                   context=context)


def _batched_job(bundle, config, proto, folds, seed, task, staged, device, profile, run_dir: Path, threads: int,
                 quiet: bool):
    import numpy as np

    from harness.runner.views import train_set
    from harness.runner.worker import BatchedJob

    n = len(task.table)
    masks = np.zeros((len(folds), n), dtype=bool)
    for f, fold in enumerate(folds):
        masks[f, list(fold.train)] = True
    context = _context(proto, None, device, profile, config, run_dir / "work" / f"batched-{seed}", threads, quiet)
    return BatchedJob(seed=seed, bundle=bundle, config=dict(config),
                      samples=train_set(task.table, range(n), staged, proto.classes), folds=[f.name for f in folds],
                      train_masks=masks, test_positions=[list(f.test) for f in folds], context=context)


def _run_jobs(store, ex, jobs, run_ids: dict[int, int], total: int, done: int, quiet: bool, title: str) -> None:
    """Run jobs, committing each fold as soon as it ends; the first failure stops the run."""
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, desc=title, unit="fold", disable=quiet or not sys.stderr.isatty(),
               leave=False, dynamic_ncols=True)

    def on_progress(seed: int, fold: str, info: dict) -> None:
        if info.get("epoch") is not None and info.get("total"):
            bar.set_postfix_str(f"seed {seed} fold {fold}: epoch {info['epoch']}/{info['total']}")

    try:
        for result in ex.map(jobs, on_progress):
            if result.error:
                raise FoldFailed(f"fold {result.fold} (seed {result.seed}) failed:\n{result.error}")
            store.commit_fold(run_ids[result.seed], result.fold, result.sample_ids, result.pred, result.proba,
                              result.wall_s, result.records)
            bar.update(1)
    finally:
        bar.close()


def score_submission(store, sub_id: int, proto, test_rows, seeds: Sequence[int], run_ids: dict[int, int]) -> dict:
    """Pool every fold's predictions per seed and score once (K fixed by the protocol)."""
    import numpy as np

    from harness.scoring.report import build_report

    ids = test_rows["uid"].tolist()
    preds = []
    for seed in seeds:
        stored = store.predictions(run_ids[seed])
        missing = [i for i in ids if i not in stored]
        if missing:
            raise HarnessError(f"seed {seed}: {len(missing)} test samples have no stored prediction "
                               f"(e.g. {missing[0]}); the run is incomplete")
        preds.append(np.array([stored[i][0] for i in ids], dtype=np.int64))
    report = build_report(proto.classes, test_rows["label_index"].to_numpy(dtype="int64"), preds,
                          test_rows["group"].to_numpy(), seeds=seeds)
    report.update({"protocol": proto.name, "protocol_version": proto.version,
                   "phase": store.get_submission(sub_id).phase or None})
    return report


def _fold_summary(store, run_ids: dict[int, int]) -> dict:
    """Per-fold wall time and whatever bundles recorded (parameter counts, generated samples...)."""
    out = {}
    for seed, run_id in run_ids.items():
        out[str(seed)] = store.fold_records(run_id)
    return out
