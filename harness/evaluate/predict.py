"""Predict only (`harness submit ... --predict-only -o predictions.csv`): a participant's path to the file they
upload, on a test phase whose labels they do not have. The folds run exactly as in a scored submission (the same
fold tasks, staging under opaque ids and isolation: harness.evaluate.submit.fold_tasks), but nothing is scored
or recorded and no phase slot is used; the output is a predictions file in the template's ids (the release's
sample ids) that `harness score` accepts."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace

from harness.evaluate.request import RunRequest, prepare_bundle


@dataclass
class PredictOutcome:
    ids: list[str]           # the phase's test ids, in the template's order
    labels: list[str]        # predicted class names
    proba: object            # (N, K) array, or None when a fold gave no probabilities
    wall_s: float
    logs: str


def predict(req: RunRequest) -> PredictOutcome:
    import numpy as np

    from harness.evaluate.submit import _plan, fold_error, fold_tasks, task_count
    from harness.paths import harness_home
    from harness.runner.plan import run_folds
    from harness.runner.staging import new_run_dir

    t0 = time.perf_counter()
    prep = prepare_bundle(replace(req, predict_only=True))
    name = f"predict-{prep.identity[:12]}"
    logs = harness_home() / "logs" / name
    run_dir = new_run_dir(name)
    got: dict[str, tuple[int, object]] = {}
    try:
        folds = prep.task.folds(prep.phase)
        seed = prep.seeds[0]
        plan = _plan(prep, None, logs, tasks=task_count(prep, {seed: folds}))

        def collect(result) -> None:
            fold_error(result)
            probas = result.proba if result.proba is not None else [None] * len(result.sample_ids)
            got.update({sid: (int(p), pr) for sid, p, pr in zip(result.sample_ids, result.pred, probas)})

        phase = f" {prep.phase}" if prep.phase else ""
        run_folds(prep.executor, fold_tasks(prep, plan, run_dir, {seed: folds}), total=len(folds), done=0,
                  quiet=req.quiet, title=f"{prep.bundle.name} on {prep.proto.name}{phase} (predict only)",
                  on_result=collect)
    finally:
        prep.executor.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    ids = prep.task.test_table(prep.phase)["uid"].tolist()
    missing = [i for i in ids if i not in got]
    if missing:
        from harness.errors import HarnessError

        raise HarnessError(f"{len(missing)} test samples got no prediction (e.g. {missing[0]})")
    proba = [got[i][1] for i in ids]
    return PredictOutcome(ids, [prep.proto.classes[got[i][0]] for i in ids],
                          np.asarray(proba, dtype=float) if all(p is not None for p in proba) else None,
                          time.perf_counter() - t0, str(logs))
