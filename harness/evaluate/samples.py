"""A stored submission's per-sample record for `harness submissions export`: every test sample with its fold,
subject, dataset, true class and prediction (and probabilities where the run gave them), under the release's own
sample ids (the store keeps those; the opaque ids a bundle saw never leave its fold). The analogue of lm-eval's
--log_samples; the file is itself a valid predictions file (harness.scoring.predictions.INFORMATIONAL), so
re-scoring it with `harness score` gives the submission's numbers."""
from __future__ import annotations

from harness.errors import BadInput


def export_samples(store, submission_id: int, task, seed: int | None = None) -> tuple[str, int, int]:
    """(CSV text, rows, seed exported) of one seed of a scored (or unfinished) submission."""
    from harness.scoring.predictions import format_predictions

    sub = store.get_submission(submission_id)
    runs = {int(r["seed"]): r for r in store.runs(submission_id)}
    if not runs:
        raise BadInput(f"submission {submission_id} has no stored predictions")
    seed = min(runs) if seed is None else seed
    if seed not in runs:
        raise BadInput(f"submission {submission_id} has no seed {seed} "
                       f"(its seeds: {', '.join(map(str, sorted(runs)))})")
    stored = store.predictions(runs[seed]["id"])
    folds = store.prediction_folds(runs[seed]["id"])
    proto = task.protocol
    test = task.test_table(sub.phase or None)
    unknown = sorted(set(stored) - set(test["uid"]))
    if unknown:
        raise BadInput(f"submission {submission_id}: {len(unknown)} stored samples are not in this data root's test "
                       f"set of {proto.name} {sub.phase or ''} (e.g. {unknown[0]}): pass the data root it was "
                       "scored on (--data-root)")
    rows = test[test["uid"].isin(stored)]
    ids = rows["uid"].tolist()
    import numpy as np

    truth = rows["label"].fillna("").astype(str).tolist()   # empty where the data root has no label
    proba = [stored[i][1] for i in ids]
    probabilities = np.array(proba, dtype=float) if all(p is not None for p in proba) else None
    text = format_predictions(ids, [proto.classes[stored[i][0]] for i in ids], probabilities, proto.classes,
                              info={"fold": [folds[i] for i in ids], "subject": rows["subject"].astype(str).tolist(),
                                    "dataset": rows["dataset"].tolist(), "truth": truth,
                                    "seed": [seed] * len(ids)})
    return text, len(ids), seed
