"""The three baselines through `harness submit` on a small synthetic CAS(ME)^3 (real face detection, alignment and
flow from the shared preprocessing, LOSO folds in fresh sandboxed processes). Scores are the CI expectations'
business (expectations.yaml); here: every sample scored, the records each bundle promises, and reuse of cached
features across folds."""
from __future__ import annotations

import json

import pytest

from harness.leaderboard.render import measured_rows
from harness.protocols import get_protocol
from tests.fixtures.runs import submit
from harness.store.db import open_store

pytestmark = pytest.mark.slow

# Small but complete settings: the quick profiles' features, a tiny FeatRef and a one-value C (no inner CV).
RUNS = {
    "lbp-top": ({"C": 10.0}, {"n_features", "svm_C", "latency_ms", "cpu_s", "train_no_face"}),
    "bi-woof": ({"C": 0.01}, {"n_features", "svm_C", "latency_ms", "cpu_s", "train_no_face"}),
    "featref": ({"epochs": 2, "width": 2, "reduce": 4, "dim": 8},
                {"n_params", "flops", "latency_ms", "epochs_run", "cpu_s", "train_no_face"}),
}


DISPLAY = {"lbp-top": "LBP-TOP + SVM", "bi-woof": "Bi-WOOF + SVM", "featref": "FeatRef (reconstruction)"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from harness.synth.writer import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, "casme3", seed=0, subjects=3, progress=False, workers=1)
    return root


@pytest.mark.parametrize("bundle", sorted(RUNS))
def test_baseline_runs_every_loso_fold_and_records_its_costs(corpus, bundle):
    overrides, expected = RUNS[bundle]
    out = submit(bundle, "casme3-3class", data_root=corpus, overrides=overrides, host=True)
    assert out.status == "scored" and out.report["n_subjects"] == 3
    with open_store() as store:
        sub = store.get_submission(out.submission_id)
        folds = store.fold_records(store.runs(sub.id)[0]["id"])
        assert len(store.predictions(store.runs(sub.id)[0]["id"])) == out.report["n_samples"]
    assert len(folds) == 3
    # what ran travels with the result and reaches the board: the display name and the profile with overrides
    label = "quick (reduced) + " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    assert sub.provenance["profile_label"] == label
    assert sub.provenance["bundle"]["display_name"] == DISPLAY[bundle]
    with open_store() as store:
        rows = measured_rows(store, get_protocol("casme3-3class"), None)
    assert f"{DISPLAY[bundle]} · {label}" in {r["label"] for r in rows}
    for fold, rec in folds.items():
        assert expected <= set(rec), f"{bundle} fold {fold} lacks {expected - set(rec)}"
        assert rec["train_no_face"] == 0 and rec["test_no_face_majority"] == 0
        json.dumps(rec)  # stored as JSON, so ablation tables can read it
