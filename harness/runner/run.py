"""`harness submit`: train and evaluate a bundle under a protocol, fold by fold, resumably.

The flow: validate every input (bundle, names, protocol, phase, seeds, profile and settings, device, executor,
time limit, data) before anything is recorded -> compute the run's identity (same code, settings and data ->
same identity) -> reuse a scored result, resume an unfinished one, or open a new submission (phase limits
checked atomically) -> stage frames under opaque ids -> run the missing folds (each in its own confined
processes) and commit each fold's predictions as it ends -> pool, score once, record, regenerate the protocol's
leaderboards (also when the result is reused: a run killed after scoring left no board).

A run killed at any point leaves whole folds in the store; running the same command again finishes the rest,
and the scores equal those of an uninterrupted run (each fold is deterministic given its seed). Any other
failure after the submission was opened marks it failed, which frees its phase slot.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.errors import BadInput, HarnessError

#: Seconds a fold may run when its protocol file sets no `fold_time_limit_s` (then it is killed, the run fails).
DEFAULT_FOLD_TIME_LIMIT_S = 6 * 3600.0


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
    gpus = options.get("gpus_per_fold")
    if gpus is not None and (isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or not 0 <= gpus <= 64):
        raise BadInput(f"--gpus-per-fold must be a number in [0, 64], not {gpus!r}")
    if executor == "ray" and device == "cuda":
        options.setdefault("gpus_per_fold", 1.0)
    return options


def run_identity(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def check_seeds(seeds: Sequence[Any]) -> list[int]:
    out = set()
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 32:
            raise BadInput(f"seeds must be integers in [0, 2^32), not {s!r}")
        out.add(int(s))
    if not out:
        raise BadInput("--seeds must name at least one seed")
    return sorted(out)


@dataclass
class Request:
    """A validated submission: everything `submit` needs, checked before anything is recorded."""

    bundle: Any
    proto: Any
    phase: str | None
    team: str
    seeds: list[int]
    profile: str
    config: dict
    device: str
    root: Path
    task: Any
    executor: Any
    executor_name: str
    workers: int | None
    fold_batched: bool
    trust: str | None          # how a fold-batched bundle was trusted: "reviewed" or "--trust-bundle"
    sandbox: bool
    time_limit_s: float
    identity: str
    fingerprint: str
    overrides: dict
    data_options: Any          # harness.datasets.policy.LoadOptions, or None for the default


def prepare(bundle_ref: str | Path, protocol: str, phase: str | None, team: str | None, seeds: Sequence[int],
            profile: str | None, device: str, data_root, executor: str, workers: int | None,
            overrides: dict[str, Any] | None, executor_options: dict[str, Any] | None, fold_batched: bool,
            sandbox: bool, trust_bundle: bool, fold_time_limit_s: float | None, data_options=None) -> Request:
    """Validate every input of a submission (BadInput, exit 2, for the first problem); records nothing."""
    from harness.paths import resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.runner.bundle import load_bundle, resolve_bundle
    from harness.runner.executors import EXECUTORS
    from harness.runner.fingerprint import data_fingerprint
    from harness.runner.provenance import harness_code_hash
    from harness.names import check_name

    bundle = load_bundle(resolve_bundle(str(bundle_ref)))
    proto = get_protocol(protocol)
    phase = proto.check_phase(phase)
    seeds = check_seeds(seeds)
    team = check_name(team or bundle.team, "team name")
    profile, config = bundle.resolve_config(profile, overrides)
    if overrides and not all(isinstance(k, str) and k for k in overrides):
        raise BadInput("--set keys must be non-empty names")
    dev = resolve_device(device, bundle.neural)
    EXECUTORS.get(executor)  # "did you mean" for a typo, before anything else happens
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise BadInput(f"--workers must be a positive integer, not {workers!r}")
    options = executor_options_for(executor, dev, executor_options)
    if fold_time_limit_s is not None and (isinstance(fold_time_limit_s, bool) or fold_time_limit_s <= 0):
        raise BadInput(f"--fold-time-limit must be a positive number of seconds, not {fold_time_limit_s!r}")
    time_limit = float(fold_time_limit_s or proto.fold_time_limit(phase) or DEFAULT_FOLD_TIME_LIMIT_S)
    trust = _batched_trust(bundle, proto, fold_batched, trust_bundle) if fold_batched else None
    root = resolve_data_root(data_root)
    task = build_task(proto, root, options=data_options)
    if not task.has_labels(phase):
        raise BadInput(f"the data root has no reference labels for {proto.name} {phase or ''}: cannot score")
    from harness.runner.executors import make_executor

    ex = make_executor(executor, workers, **options)
    fingerprint = data_fingerprint(task)
    identity = run_identity(protocol=proto.name, version=proto.version, phase=phase, team=team, system=bundle.name,
                            kind=bundle.kind, bundle=bundle.code_hash, profile=profile, config=config, seeds=seeds,
                            data=fingerprint, harness=harness_code_hash(), device=dev,
                            **({"fold_batched": True} if fold_batched else {}),
                            **({} if sandbox else {"sandbox": False}))
    return Request(bundle, proto, phase, team, seeds, profile, config, dev, root, task, ex, executor, workers,
                   fold_batched, trust, sandbox, time_limit, identity, fingerprint, dict(overrides or {}),
                   data_options)


def _batched_trust(bundle, proto, fold_batched: bool, trust_bundle: bool) -> str:
    from harness.runner.trust import REVIEWED, reviewed

    if not proto.splitter.fold_batched or not bundle.neural:
        raise BadInput("--fold-batched trains all LOSO folds of a neural bundle at once: it needs a LOSO protocol "
                       "and a bundle with `neural: true` that provides batched_spec()")
    if reviewed(bundle.name, bundle.code_hash):
        return "reviewed"
    if trust_bundle:
        return "--trust-bundle"
    raise BadInput(f"--fold-batched gives one process every fold's labels, so it is for reviewed bundles only: "
                   f"{bundle.name} (code hash {bundle.code_hash}) is not in {REVIEWED}. Review it and add it "
                   "there, or pass --trust-bundle to run it anyway (recorded with the run and on the board)")


def submit(bundle_ref: str | Path, protocol: str, phase: str | None = None, team: str | None = None,
           seeds: Sequence[int] = (0,), profile: str | None = None, device: str = "auto",
           data_root: str | Path | None = None, executor: str = "serial", workers: int | None = None,
           quiet: bool = True, resume: bool = False, rerun: bool = False, host: bool = False,
           overrides: dict[str, Any] | None = None, executor_options: dict[str, Any] | None = None,
           regenerate_board: bool = True, store_path: str | Path | None = None,
           fold_batched: bool = False, sandbox: bool = True, trust_bundle: bool = False,
           fold_time_limit_s: float | None = None, data_options=None) -> SubmitOutcome:
    from harness.leaderboard.render import write_boards
    from harness.store.db import open_store

    t0 = time.perf_counter()
    req = prepare(bundle_ref, protocol, phase, team, seeds, profile, device, data_root, executor, workers,
                  overrides, executor_options, fold_batched, sandbox, trust_bundle, fold_time_limit_s, data_options)
    store = open_store(store_path)
    try:
        existing = store.find_by_identity(req.identity)
        scored = [s for s in existing if s.status == "scored"]
        if scored and not rerun and not resume:
            req.executor.close()
            outcome = SubmitOutcome(scored[-1].id, "reused", store.scores(scored[-1].id),
                                    time.perf_counter() - t0, identity=req.identity)
        else:
            unfinished = [s for s in existing if s.status in ("running", "failed")] if not rerun else []
            if resume and not unfinished:
                req.executor.close()
                raise BadInput("--resume: no unfinished run with this bundle, protocol, settings and data "
                               "(drop --resume to start one)")
            try:
                if overrides:
                    _preflight(req)  # settings the bundle refuses are bad input: found before a slot is taken
                outcome = _open_and_run(store, req, unfinished, host, quiet, t0)
            finally:
                req.executor.close()
    finally:
        store.close()
    if regenerate_board:
        write_boards(req.proto.name)
    return outcome


def _provenance(req: Request, host: bool) -> dict:
    from harness.datasets.policy import DEFAULT as DEFAULT_LOAD
    from harness.runner.fingerprint import data_kind
    from harness.fsutil import file_sha256
    from harness.runner.provenance import basic_provenance

    bundle, proto = req.bundle, req.proto
    provenance = basic_provenance()
    provenance.update({
        "bundle": {"name": bundle.name, "display_name": bundle.display_name, "path": str(bundle.path),
                   "code_hash": bundle.code_hash, "entry_point": bundle.entry_point, "paper": bundle.paper,
                   "kind": bundle.kind},
        "protocol": {"name": proto.name, "version": proto.version,
                     "file_sha256": file_sha256(proto.path) if proto.path else None},
        "phase": req.phase, "profile": req.profile, "profile_label": bundle.profile_label(req.profile, req.overrides),
        "config": req.config, "seeds": req.seeds, "device": req.device,
        "executor": req.executor_name, "workers": req.workers, "concurrent_folds": req.executor.workers,
        "data_root": str(req.root), "data_fingerprint": req.fingerprint, "data_kind": data_kind(req.root),
        "excluded": req.task.exclusion_summary(), "errata": req.task.errata_versions(),
        "data_options": (req.data_options or DEFAULT_LOAD).describe(),
        "isolation": ("fold-batched: one process trains every fold with per-fold sample masks (it sees every "
                      "fold's labels)" if req.fold_batched else
                      "one confined process per fold (forked from the harness's zygote), opaque sample ids, "
                      "frames staged outside the data root"),
        "fold_batched": req.fold_batched, "trust": req.trust,
        "sandbox": "every layer in harness/runner/isolation.py (what held: fold_records.*.isolation)"
                   if req.sandbox else "disabled (--no-sandbox)",
        "fold_time_limit_s": req.time_limit_s,
        "host_run": host,
    })
    return provenance


def _open_and_run(store, req: Request, unfinished: list, host: bool, quiet: bool, t0: float) -> SubmitOutcome:
    limits = req.proto.phases[req.phase].limits if req.phase else None
    provenance = _provenance(req, host)
    if unfinished:
        sub_id = unfinished[-1].id
        if unfinished[-1].status == "failed":
            store.reopen_submission(sub_id, limits=limits)
    else:
        sub_id = store.create_submission(
            protocol=req.proto.name, protocol_version=req.proto.version, phase=req.phase, team=req.team,
            system=req.bundle.name, kind=req.bundle.kind, source="bundle", identity=req.identity, seeds=req.seeds,
            profile=req.profile, provenance=provenance, limits=limits, host=host)
    try:
        report, resumed = _evaluate(store, req, sub_id, provenance, quiet, t0)
    except KeyboardInterrupt:
        raise  # left "running": the same command resumes it
    except BaseException as exc:
        store.fail_submission(sub_id, f"{type(exc).__name__}: {exc}")
        raise
    return SubmitOutcome(sub_id, "scored", report, time.perf_counter() - t0, resumed_folds=resumed,
                         identity=req.identity)


def _evaluate(store, req: Request, sub_id: int, provenance: dict, quiet: bool, t0: float) -> tuple[dict, int]:
    from harness.runner.opaque import opaque_ids
    from harness.runner.staging import new_run_dir, stage_table

    run_dir = new_run_dir(str(sub_id))
    try:
        if hasattr(req.executor, "prepare"):
            req.executor.prepare(run_dir)
        ids = opaque_ids(req.task.table["uid"])
        staged = stage_table(req.task.table, ids)
        folds = req.task.folds(req.phase)
        tasks, run_ids, resumed = [], {}, 0
        for seed in req.seeds:
            run_ids[seed] = run_id = store.ensure_run(sub_id, seed)
            done = store.done_folds(run_id)
            resumed += len(done)
            missing = [f for f in folds if f.name not in done]
            if req.fold_batched and missing:
                tasks.append(_batched_task(req, missing, seed, staged, ids, run_dir, sub_id, quiet))
            else:
                tasks += [_fold_task(req, fold, seed, staged, ids, run_dir, sub_id, quiet) for fold in missing]
        _run_tasks(store, req.executor, tasks, run_ids, total=len(req.seeds) * len(folds), done=resumed,
                   quiet=quiet, title=f"{req.bundle.name} on {req.proto.name}{' ' + req.phase if req.phase else ''}")
        for run_id in run_ids.values():
            store.finish_run(run_id, time.perf_counter() - t0)
        report = score_submission(store, sub_id, req.proto, req.task.test_table(req.phase), req.seeds, run_ids)
        records = _fold_summary(store, run_ids)
        provenance.update({"wall_s": round(time.perf_counter() - t0, 3), "fold_records": records,
                           "threads_per_fold": req.executor.threads_per_fold(),
                           "logs": str(_log_dir(sub_id)), "guarantees_not_held": guarantees_not_held(
                               {**provenance, "fold_records": records})})
        store.record_scores(sub_id, report, provenance)
        return report, resumed
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _log_dir(sub_id: int) -> Path:
    from harness.paths import harness_home

    return harness_home() / "logs" / f"submission-{sub_id}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def _context(req: Request, phase: str | None, work_dir: Path, threads: int, quiet: bool) -> dict:
    return {"classes": req.proto.classes, "protocol": req.proto.name, "phase": phase, "device": req.device,
            "profile": req.profile, "config": dict(req.config), "cache_dir": work_dir / "cache",
            "work_dir": work_dir, "threads": threads, "quiet": quiet}


def _launch(req: Request, job, labels: dict, work_dir: Path):
    from harness.paths import cache_dir, harness_home, store_path
    from harness.runner.staging import frame_store
    from harness.runner.supervisor import Launch

    namespace = hashlib.sha256(f"{req.team}\0{req.bundle.code_hash}".encode()).hexdigest()[:32]
    # What the fold may learn: these labels (of this protocol, phase, fold and data), nothing else.
    knowledge = run_identity(protocol=req.proto.name, version=req.proto.version, phase=req.phase, folds=job.folds,
                             data=req.fingerprint, labelled=sorted(labels))[:32]
    private = [str(harness_home()), str(cache_dir()), str(Path(store_path()).parent)]
    return Launch(job=job, labels=labels, work_dir=str(work_dir), frames_root=str(frame_store()),
                  bundle_dir=str(req.bundle.path), data_roots=[str(req.root)], private=private,
                  cache_root=str(Path(cache_dir()) / "preprocess"), namespace=namespace, knowledge=knowledge,
                  device=req.device, sandbox=req.sandbox)


def _fold_task(req: Request, fold, seed: int, staged: dict, ids: dict, run_dir: Path, sub_id: int, quiet: bool):
    from harness.runner.labels import label_table, strip_labels
    from harness.runner.results import FoldTask
    from harness.runner.views import test_set, train_set
    from harness.runner.worker import FoldJob

    table, classes = req.task.table, req.proto.classes
    work = run_dir / "work" / _safe(f"{seed}/{fold.name}")
    train = train_set(table, fold.train, staged, classes)
    test = test_set(table, fold.test, staged, classes, req.proto.test_keyframes)
    context = _context(req, req.phase, work, req.executor.threads_per_fold(), quiet)
    job = FoldJob(seed=seed, fold=fold.name, bundle=req.bundle, config=dict(req.config), train=strip_labels(train),
                  test=test, context=context)
    uid_of = {v: k for k, v in ids.items()}
    return FoldTask(_launch(req, job, label_table(train), work), seed, [fold.name], {fold.name: test.ids},
                    {i: uid_of[i] for i in test.ids}, classes, _log_dir(sub_id) / f"seed{seed}-{_safe(fold.name)}.log",
                    req.time_limit_s)


def _batched_task(req: Request, folds, seed: int, staged: dict, ids: dict, run_dir: Path, sub_id: int,
                  quiet: bool):
    import numpy as np

    from harness.runner.labels import label_table, strip_labels
    from harness.runner.results import FoldTask
    from harness.runner.views import train_set
    from harness.runner.worker import BatchedJob

    table, classes = req.task.table, req.proto.classes
    n = len(table)
    masks = np.zeros((len(folds), n), dtype=bool)
    for f, fold in enumerate(folds):
        masks[f, list(fold.train)] = True
    work = run_dir / "work" / f"batched-{seed}"
    everything = train_set(table, range(n), staged, classes)
    job = BatchedJob(seed=seed, bundle=req.bundle, config=dict(req.config), samples=strip_labels(everything),
                     classes=classes, folds=[f.name for f in folds], train_masks=masks,
                     test_positions=[list(f.test) for f in folds],
                     context=_context(req, None, work, req.executor.threads_per_fold(), quiet))
    expected = {f.name: [everything[i].sample_id for i in f.test] for f in folds}
    uid_of = {v: k for k, v in ids.items()}
    return FoldTask(_launch(req, job, label_table(everything), work), seed, job.folds, expected, uid_of, classes,
                    _log_dir(sub_id) / f"seed{seed}-batched.log", req.time_limit_s * len(folds), batched=True)


def _preflight(req: Request) -> None:
    """Build the bundle with the run's settings in a confined fold (no data): a constructor that refuses them is
    bad input, reported before the submission takes a slot."""
    from harness.api import TestSet
    from harness.runner.labels import label_table
    from harness.runner.results import FoldTask
    from harness.runner.staging import new_run_dir
    from harness.runner.worker import FoldJob

    run_dir = new_run_dir("preflight")
    try:
        work = run_dir / "work"
        job = FoldJob(seed=req.seeds[0], fold="preflight", bundle=req.bundle, config=dict(req.config), train=[],
                      test=TestSet([], req.proto.classes), context=_context(req, req.phase, work, 1, True),
                      probe=True)
        task = FoldTask(_launch(req, job, label_table([]), work), req.seeds[0], ["preflight"], {"preflight": []},
                        {}, req.proto.classes, run_dir / "preflight.log", min(req.time_limit_s, 600.0))
        for result in req.executor.map([task]):
            if result.error:
                raise BadInput(f"bundle {req.bundle.name} refuses the settings {req.config}: {result.error}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run_tasks(store, ex, tasks, run_ids: dict[int, int], total: int, done: int, quiet: bool, title: str) -> None:
    """Run fold tasks, committing each fold as soon as it ends; the first failure stops the run."""
    from tqdm import tqdm

    bar = tqdm(total=total, initial=done, desc=title, unit="fold", disable=quiet or not sys.stderr.isatty(),
               leave=False, dynamic_ncols=True)

    def on_progress(seed: int, fold: str, info: dict) -> None:
        if info.get("epoch") is not None and info.get("total"):
            bar.set_postfix_str(f"seed {seed} fold {fold}: epoch {info['epoch']}/{info['total']}")

    try:
        for result in ex.map(tasks, on_progress):
            if result.error:  # its first line is the cause: one-line summaries (check, run-all) keep it
                cause, _, details = result.error.partition("\n")
                raise FoldFailed(f"fold {result.fold} (seed {result.seed}) failed: {cause}"
                                 + (f"\n{details}" if details else ""))
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
                          test_rows["group"].to_numpy(), seeds=seeds, metrics=proto.metrics,
                          datasets=test_rows["dataset"].to_numpy(), part_titles=proto.part_titles(),
                          per_subject=True)
    report.update({"protocol": proto.name, "protocol_version": proto.version,
                   "phase": store.get_submission(sub_id).phase or None})
    return report


def _fold_summary(store, run_ids: dict[int, int]) -> dict:
    """Per-fold wall time and whatever bundles recorded (parameter counts, generated samples...)."""
    out = {}
    for seed, run_id in run_ids.items():
        out[str(seed)] = store.fold_records(run_id)
    return out


def guarantees_not_held(provenance: dict) -> list[str]:
    """The isolation guarantees that did not hold for a run, in words (recorded; boards mark such rows)."""
    out = []
    if provenance.get("fold_batched"):
        out.append("fold-batched: one process saw every fold's labels")
    if provenance.get("trust") == "--trust-bundle":
        out.append("unreviewed bundle run fold-batched by --trust-bundle")
    if str(provenance.get("sandbox", "")).startswith("disabled"):
        return out + ["no sandbox (--no-sandbox)"]
    facts = [rec.get("isolation", {}) for seed in (provenance.get("fold_records") or {}).values()
             for rec in seed.values()]
    checks = (  # a fact a fold did not report counts as not held
        ("no Landlock", lambda f: not str(f.get("landlock", "")).startswith("landlock")),
        ("TCP not restricted (Landlock ABI < 4)", lambda f: "tcp" not in str(f.get("landlock", ""))),
        ("signals and abstract sockets not scoped (Landlock ABI < 6)",
         lambda f: "scoped" not in str(f.get("landlock", ""))),
        ("no private network, IPC, /proc and /dev/shm (namespaces unavailable)",
         lambda f: f.get("network") is not True or f.get("private_proc") is not True),
        ("no private root (paths outside the fold, named sockets included, can be reached by name)",
         lambda f: not str(f.get("private_root", "")).startswith("yes")),
        ("no PID namespace (processes killed by the supervisor's sweep)",
         lambda f: not str(f.get("pid_namespace", "")).startswith("yes")),
        ("capabilities kept", lambda f: f.get("capabilities") not in ("none left", "not root")),
    )
    for text, failed in checks:
        if any(failed(f) for f in facts):
            out.append(text)
    return out
