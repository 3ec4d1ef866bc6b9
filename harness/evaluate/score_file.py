"""A predictions file scored against a protocol's held-out labels (`harness score`), and recorded when asked
(phase limits enforced atomically). Same request, provenance and recording path as a bundle run."""
from __future__ import annotations

from dataclasses import dataclass

from harness.evaluate.request import RunRequest, prepare_file


@dataclass
class ScoreOutcome:
    report: dict
    submission_id: int | None = None   # when recorded


def score_file(req: RunRequest) -> ScoreOutcome:
    """Validate and score `req.predictions` (BadInput with every problem when the file is invalid: nothing is
    recorded then); record it when `req.record`."""
    from harness.evaluate import record
    from harness.scoring.bootstrap import DEFAULT_DRAWS

    prep = prepare_file(req)
    report = record.report_for(prep, prep.task.test_table(prep.phase), [prep.preds.pred],
                               draws=req.draws if req.draws is not None else DEFAULT_DRAWS, per_subject=req.record)
    if not req.record:
        return ScoreOutcome(report)
    from harness.evaluate.provenance import build_provenance
    from harness.store.db import open_store

    with open_store(req.store_path) as store:
        sid = record.record_file(store, prep, report, build_provenance(prep))
    report["submission_id"] = sid
    return ScoreOutcome(report, sid)
