"""The one recording path of a score: a submission row built by `entry`, its predictions, its pooled report and
its provenance, for a bundle run (opened, then committed fold by fold, then scored) and for a predictions file
(all in one transaction). Phase limits are checked atomically when a submission takes a slot; a failure marks a
bundle run failed (which frees its slot) and leaves a file's submission unrecorded.

Rendering the boards is not done here: whoever records calls harness.leaderboard.render.write_boards.
"""
from __future__ import annotations

from typing import Any


def entry(prep, provenance: dict) -> dict:
    """The submission row of a prepared request (both kinds)."""
    req, bundle = prep.request, getattr(prep, "bundle", None)
    return {"protocol": prep.proto.name, "protocol_version": prep.proto.version, "phase": prep.phase,
            "team": prep.team, "system": bundle.name if bundle is not None else prep.system,
            "kind": bundle.kind if bundle is not None else req.kind, "host": req.host, "provenance": provenance}


def limits(prep):
    return prep.proto.phases[prep.phase].limits if prep.phase else None


def open_run(store, prep, unfinished: list, provenance: dict) -> int:
    """A bundle run's submission: the unfinished one of the same identity (reopened, limits re-checked), or a
    new one (limits checked)."""
    if unfinished:
        sub_id = unfinished[-1].id
        if unfinished[-1].status == "failed":
            store.reopen_submission(sub_id, limits=limits(prep))
        return sub_id
    return store.create_submission(**entry(prep, provenance), source="bundle", identity=prep.identity,
                                   seeds=prep.seeds, profile=prep.profile, limits=limits(prep))


def finish_run(store, sub_id: int, report: dict, provenance: dict) -> None:
    store.record_scores(sub_id, report, provenance)


def record_file(store, prep, report: dict, provenance: dict) -> int:
    """A scored predictions file: limit check, submission, predictions and scores in ONE transaction."""
    folds = prep.task.test_folds(prep.phase)
    return store.record_scored_predictions(submission=entry(prep, provenance), sample_ids=prep.preds.ids,
                                           folds=folds, predictions=prep.preds.pred, proba=prep.preds.proba,
                                           report=report, limits=limits(prep))


def score_stored(store, sub_id: int, prep, run_ids: dict[int, int]) -> dict:
    """Pool every fold's stored predictions per seed and score once (K fixed by the protocol)."""
    import numpy as np

    from harness.errors import HarnessError

    test_rows = prep.task.test_table(prep.phase)
    ids = test_rows["uid"].tolist()
    preds = []
    for seed in prep.seeds:
        stored = store.predictions(run_ids[seed])
        missing = [i for i in ids if i not in stored]
        if missing:
            raise HarnessError(f"seed {seed}: {len(missing)} test samples have no stored prediction "
                               f"(e.g. {missing[0]}); the run is incomplete")
        preds.append(np.array([stored[i][0] for i in ids], dtype=np.int64))
    return report_for(prep, test_rows, preds, seeds=prep.seeds)


def report_for(prep, test_rows, preds: list, per_subject: bool = True, **options: Any) -> dict:
    """The score report of predictions aligned with `test_rows`, with the protocol's identity (both kinds): a
    multi-dataset protocol's per-dataset parts, and (what is recorded) the per-subject matrices that paired tests
    between stored systems need."""
    from harness.scoring.report import build_report

    report = build_report(prep.proto.classes, test_rows["label_index"].to_numpy(dtype="int64"), preds,
                          test_rows["group"].to_numpy(), metrics=prep.proto.metrics,
                          datasets=test_rows["dataset"].to_numpy(), part_titles=prep.proto.part_titles(),
                          per_subject=per_subject, **options)
    report.update({"protocol": prep.proto.name, "protocol_version": prep.proto.version, "phase": prep.phase})
    return report
