"""A bundle run under a protocol, fold by fold, resumably.

The flow: validate every field of the request before anything is recorded (`prepare_bundle`) -> reuse a scored
result of the same identity (same code, settings and data), resume an unfinished one, or open a new submission
(phase limits checked atomically) -> stage frames under opaque ids -> run the missing folds, each in its own
confined processes (harness.runner), committing each fold's predictions as it ends -> pool, score once, record.

A run killed at any point leaves whole folds in the store; running the same request again finishes the rest, and
the scores equal those of an uninterrupted run (each fold is deterministic given its seed). Any other failure
after the submission was opened marks it failed, which frees its phase slot. The boards are the caller's to
render (harness.leaderboard.render.write_boards), also when the result is reused: a run killed after scoring
left no board.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BadInput, HarnessError
from harness.evaluate.request import PreparedRun, RunRequest, prepare_bundle


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


def submit(req: RunRequest) -> SubmitOutcome:
    from harness.store.db import open_store

    t0 = time.perf_counter()
    prep = prepare_bundle(req)
    store = open_store(req.store_path)
    try:
        existing = store.find_by_identity(prep.identity)
        scored = [s for s in existing if s.status == "scored"]
        if scored and not req.rerun and not req.resume:
            prep.executor.close()
            return SubmitOutcome(scored[-1].id, "reused", store.scores(scored[-1].id), time.perf_counter() - t0,
                                 identity=prep.identity)
        unfinished = [s for s in existing if s.status in ("running", "failed")] if not req.rerun else []
        try:
            if req.resume and not unfinished:
                raise BadInput("--resume: no unfinished run with this bundle, protocol, settings and data "
                               "(drop --resume to start one)")
            if req.overrides:
                _preflight(prep)  # settings the bundle refuses are bad input: found before a slot is taken
            return _open_and_run(store, prep, unfinished, t0)
        finally:
            prep.executor.close()
    finally:
        store.close()


def log_dir(sub_id: int) -> Path:
    from harness.paths import harness_home

    return harness_home() / "logs" / f"submission-{sub_id}"


def _plan(prep: PreparedRun, sub_id: int | None, logs: Path | None = None, tasks: int | None = None):
    """The run's settings as every fold task carries them; `tasks` (fold processes to run) sizes their threads."""
    from harness.runner.plan import RunPlan

    return RunPlan(bundle=prep.bundle, classes=prep.proto.classes, protocol=prep.proto.name,
                   version=prep.proto.version, phase=prep.phase, team=prep.team, profile=prep.profile,
                   config=dict(prep.config), device=prep.device, data_root=str(prep.root),
                   fingerprint=prep.fingerprint, test_keyframes=prep.proto.test_keyframes,
                   sandbox=prep.request.sandbox, time_limit_s=prep.time_limit_s,
                   threads=prep.executor.threads_per_fold(tasks), quiet=prep.request.quiet,
                   log_dir=logs or (log_dir(sub_id) if sub_id is not None else Path()))


def _preflight(prep: PreparedRun) -> None:
    """A constructor that refuses the run's settings is bad input, reported before the run takes a slot."""
    from harness.runner.plan import probe

    error = probe(_plan(prep, None), prep.executor, prep.seeds[0])
    if error:
        raise BadInput(f"bundle {prep.bundle.name} refuses the settings {prep.config}: {error}")


def _open_and_run(store, prep: PreparedRun, unfinished: list, t0: float) -> SubmitOutcome:
    from harness.evaluate import record
    from harness.evaluate.provenance import build_provenance

    provenance = build_provenance(prep)
    sub_id = record.open_run(store, prep, unfinished, provenance)
    try:
        report, resumed = _evaluate(store, prep, sub_id, provenance, t0)
    except KeyboardInterrupt:
        raise  # left "running": the same command resumes it
    except BaseException as exc:
        store.fail_submission(sub_id, f"{type(exc).__name__}: {exc}")
        raise
    return SubmitOutcome(sub_id, "scored", report, time.perf_counter() - t0, resumed_folds=resumed,
                         identity=prep.identity)


def task_count(prep: PreparedRun, missing: dict[int, list]) -> int:
    """How many fold processes `fold_tasks` makes of `missing`: one per fold, or one per seed when batched."""
    return sum((1 if prep.request.fold_batched else len(folds)) for folds in missing.values() if folds)


def fold_tasks(prep: PreparedRun, plan, run_dir: Path, missing: dict[int, list]) -> list:
    """Stage the frames under opaque ids and build the fold tasks of `missing` (seed -> folds still to run):
    the same tasks, hence the same isolation, for a scored run and a predict-only one."""
    from harness.runner.opaque import opaque_ids
    from harness.runner.plan import batched_task, fold_task
    from harness.runner.staging import stage_table

    if hasattr(prep.executor, "prepare"):
        prep.executor.prepare(run_dir)
    table = prep.task.table
    ids = opaque_ids(table["uid"])
    staged = stage_table(table, ids)
    tasks = []
    for seed, folds in missing.items():
        if prep.request.fold_batched and folds:
            tasks.append(batched_task(plan, table, folds, seed, staged, ids, run_dir))
        else:
            tasks += [fold_task(plan, table, fold, seed, staged, ids, run_dir) for fold in folds]
    return tasks


def fold_error(result) -> None:
    """A fold that failed stops the run; its error's first line is the cause (one-line summaries keep it)."""
    if result.error:
        cause, _, details = result.error.partition("\n")
        raise FoldFailed(f"fold {result.fold} (seed {result.seed}) failed: {cause}"
                         + (f"\n{details}" if details else ""))


def _evaluate(store, prep: PreparedRun, sub_id: int, provenance: dict, t0: float) -> tuple[dict, int]:
    from harness.evaluate import record
    from harness.evaluate.provenance import guarantees_not_held
    from harness.runner.plan import run_folds
    from harness.runner.staging import new_run_dir

    run_dir = new_run_dir(str(sub_id))
    try:
        folds = prep.task.folds(prep.phase)
        missing, run_ids, resumed = {}, {}, 0
        for seed in prep.seeds:
            run_ids[seed] = run_id = store.ensure_run(sub_id, seed)
            done = store.done_folds(run_id)
            resumed += len(done)
            missing[seed] = [f for f in folds if f.name not in done]
        plan = _plan(prep, sub_id, tasks=task_count(prep, missing))
        tasks = fold_tasks(prep, plan, run_dir, missing)

        def commit(result) -> None:  # each fold as soon as it ends; the first failure stops the run
            fold_error(result)
            store.commit_fold(run_ids[result.seed], result.fold, result.sample_ids, result.pred, result.proba,
                              result.wall_s, result.records)

        phase = f" {prep.phase}" if prep.phase else ""
        run_folds(prep.executor, tasks, total=len(prep.seeds) * len(folds), done=resumed, quiet=prep.request.quiet,
                  title=f"{prep.bundle.name} on {prep.proto.name}{phase}", on_result=commit)
        for run_id in run_ids.values():
            store.finish_run(run_id, time.perf_counter() - t0)
        report = record.score_stored(store, sub_id, prep, run_ids)
        records = {str(seed): store.fold_records(run_id) for seed, run_id in run_ids.items()}
        provenance.update({"wall_s": round(time.perf_counter() - t0, 3), "fold_records": records,
                           "threads_per_fold": plan.threads, "logs": str(log_dir(sub_id)),
                           "guarantees_not_held": guarantees_not_held({**provenance, "fold_records": records})})
        record.finish_run(store, sub_id, report, provenance)
        return report, resumed
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
