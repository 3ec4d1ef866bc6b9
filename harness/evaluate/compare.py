"""Two stored submissions paired for `harness compare`: the same board, the same test samples, each subject's
confusion matrices per seed (from the stored score reports, or, for reports stored before they kept them, from
the stored predictions and the data root's labels), then the paired tests of harness.scoring.compare."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.errors import BadInput


@dataclass
class Side:
    sub: object                  # harness.store.db.SubmissionRow
    report: dict
    ids: list[str]               # the release ids its predictions cover (first run)
    runs: list[dict[str, int]]   # per seed: sample id -> predicted class index


@dataclass
class Comparison:
    a: Side
    b: Side
    result: dict                 # harness.scoring.compare.compare(...)
    notes: list[str] = field(default_factory=list)


def _side(store, submission_id: int) -> Side:
    sub = store.get_submission(submission_id)
    report = store.scores(submission_id)
    if sub.status != "scored" or report is None:
        raise BadInput(f"submission {submission_id} is {sub.status}, not scored: only scored submissions can be "
                       "compared (`harness submissions list`)")
    runs = [{sid: p for sid, (p, _) in store.predictions(r["id"]).items()} for r in store.runs(submission_id)]
    return Side(sub, report, sorted(runs[0]) if runs else [], runs)


def check_same_test_set(a: Side, b: Side) -> list[str]:
    """Refuse (exit 2) what cannot be paired; return notes about what can, with a caveat."""
    board = lambda s: s.protocol + (f"/{s.phase}" if s.phase else "")  # noqa: E731
    if board(a.sub) != board(b.sub):
        raise BadInput(f"submission {a.sub.id} is on {board(a.sub)}, {b.sub.id} on {board(b.sub)}: a paired test "
                       "needs two systems scored on the same protocol and phase")
    if a.sub.protocol_version != b.sub.protocol_version:
        raise BadInput(f"submissions {a.sub.id} and {b.sub.id} were scored under versions {a.sub.protocol_version} "
                       f"and {b.sub.protocol_version} of {a.sub.protocol}, whose test sets differ: not comparable")
    if a.ids != b.ids:
        only_a, only_b = sorted(set(a.ids) - set(b.ids)), sorted(set(b.ids) - set(a.ids))
        raise BadInput(f"submissions {a.sub.id} and {b.sub.id} were scored on different test sets ({len(only_a)} "
                       f"samples only in {a.sub.id}, e.g. {only_a[:2]}; {len(only_b)} only in {b.sub.id}, e.g. "
                       f"{only_b[:2]}): a paired test needs the same samples; score both on the same data root")
    fa, fb = ((s.sub.provenance or {}).get("data_fingerprint") for s in (a, b))
    if fa and fb and fa != fb:
        return [f"the two runs saw data with different fingerprints ({str(fa)[:12]} vs {str(fb)[:12]}): the same "
                "sample ids, but labels, frames or errata may differ; the test pairs them by sample and subject"]
    return []


def _matrices(side: Side, k: int, truth: dict | None) -> tuple[list[str], np.ndarray]:
    """(subjects, (R, G, K, K)) of one side: the stored per-subject matrices, else from predictions + truth."""
    stored = side.report.get("per_subject")
    if stored:
        return stored["subjects"], np.asarray(stored["confusion"], dtype=float)
    from harness.scoring.bootstrap import per_group_confusion

    if truth is None:
        raise BadInput(f"submission {side.sub.id} was scored before reports kept per-subject matrices; pass the "
                       "data root it was scored on (--data-root) so that its predictions can be paired")
    missing = [i for i in side.ids if i not in truth]
    if missing:
        raise BadInput(f"submission {side.sub.id}: {len(missing)} predicted samples are not in the data root's test "
                       f"set (e.g. {missing[0]}): pass the data root it was scored on")
    y = np.array([truth[i][0] for i in side.ids])
    groups = np.array([truth[i][1] for i in side.ids])
    stack = [per_group_confusion(y, np.array([run[i] for i in side.ids]), groups, k) for run in side.runs]
    return [str(g) for g in np.unique(groups)], np.stack(stack).astype(float)


def _truth(proto, phase: str | None, data_root, options) -> dict[str, tuple[int, str]]:
    from harness.paths import resolve_data_root
    from harness.protocols.task import build_task

    task = build_task(proto, resolve_data_root(data_root), check_frames=False, options=options)
    test = task.test_table(phase)
    if test["label"].isna().any():
        raise BadInput(f"the data root has no labels for {proto.name} {phase or ''}: cannot pair old reports")
    return {u: (int(y), str(g)) for u, y, g in zip(test["uid"], test["label_index"], test["group"])}


def compare_submissions(store, id_a: int, id_b: int, draws: int, permutations: int, data_root=None,
                        options=None) -> Comparison:
    from harness.protocols import get_protocol
    from harness.scoring.compare import align, compare

    a, b = _side(store, id_a), _side(store, id_b)
    notes = check_same_test_set(a, b)
    proto = get_protocol(a.sub.protocol)
    needs_truth = not (a.report.get("per_subject") and b.report.get("per_subject"))
    truth = _truth(proto, a.sub.phase or None, data_root, options) if needs_truth else None
    (sa, ma), (sb, mb) = _matrices(a, proto.n_classes, truth), _matrices(b, proto.n_classes, truth)
    try:
        pair = align(sa, ma, sb, mb)
    except ValueError as exc:
        raise BadInput(f"submissions {id_a} and {id_b}: {exc}") from None
    metrics = [m for m in proto.metric_columns() if m in a.report["metrics"] and m in b.report["metrics"]]
    return Comparison(a, b, compare(pair, metrics, draws=draws, permutations=permutations), notes)
