"""fullseq-transformer through `harness submit` on a tiny synthetic corpus: real faces, shared preprocessing,
fresh fold processes. Covers high frame rates (CASME II / SAMM 200 fps resampled to the common rate) and the
onset-apex mode on SMIC, whose apex is spotted by the shared preprocessing."""
from __future__ import annotations

import pytest

from tests.fullseq_helpers import BUNDLE_DIR

TOY = {"dim": 8, "heads": 2, "dim_head": 4, "mlp_dim": 16, "epochs": 2}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from harness.synth.config import SynthConfig
    from harness.synth.writer import generate

    root = tmp_path_factory.mktemp("fullseq-corpus")
    generate(root, "casme2,samm,smic", seed=3, config=SynthConfig(samples_per_subject=2), subjects=2, workers=1,
             progress=False)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "onset_apex"])
def test_submit_scores_and_records(corpus, mode):
    from tests.fixtures.runs import submit
    from harness.store.db import open_store

    out = submit(BUNDLE_DIR, "megc2019-composite", data_root=corpus, overrides={**TOY, "mode": mode})
    assert out.status == "scored" and out.report["n_samples"] >= 6
    with open_store() as store:
        folds = store.get_submission(out.submission_id).provenance["fold_records"]["0"]
    assert len(folds) == 6  # two subjects in each of three datasets
    for rec in folds.values():
        assert rec["n_params"] > 0 and rec["latency_ms"] > 0
        if mode == "onset_apex":
            assert rec["seq_len_min"] == rec["seq_len_max"] == 2
        else:  # 200 fps clips of ~40 frames -> a handful of 30 Hz steps, at most max_len
            assert 2 <= rec["seq_len_min"] <= rec["seq_len_max"] <= 16 and rec["source_frames_mean"] > 10


@pytest.mark.slow
def test_fold_batched_training_gives_the_fold_by_fold_predictions(corpus):
    """--fold-batched (all six LOSO folds as one stacked model) reproduces fold-by-fold training of this system."""
    from tests.fixtures.runs import submit
    from harness.store.db import open_store

    settings = {**TOY, "epochs": 4}
    one = submit(BUNDLE_DIR, "megc2019-composite", data_root=corpus, overrides=settings)
    all_at_once = submit(BUNDLE_DIR, "megc2019-composite", data_root=corpus, overrides=settings,
                         fold_batched=True)
    with open_store() as store:
        a, b = (store.predictions(store.runs(o.submission_id)[0]["id"]) for o in (one, all_at_once))
    assert a.keys() == b.keys()
    assert all(a[k][0] == b[k][0] for k in a)
    assert max(abs(x - y) for k in a for x, y in zip(a[k][1], b[k][1])) < 1e-4
