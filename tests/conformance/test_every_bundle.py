"""Every discovered bundle through the same checks, as timm runs every model of `list_models` and scikit-learn
runs `check_estimator`: a new bundle folder is covered without editing this file.

- the manifest is valid and every profile instantiates;
- fit / predict on one fold of a tiny synthetic CAS(ME)^3 (real faces, the shared preprocessing) gives a valid
  class for every test id, and the same seed gives the same predictions;
- early stopping, where a bundle has it (its config takes `early_stopping`), calls the inner split of the
  training samples, validates on exactly its validation subjects (disjoint from the fit subjects) and fits on
  the rest; a bundle without it refuses the key rather than ignoring it.

In-process (the bundle API is the contract; fold isolation has its own tests), on the `quick` profile, with
FAST settings for the shipped neural bundles so the module stays small.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.api import Context
from harness.bundles.discover import discover_bundles
from harness.bundles.loader import instantiate
from harness.bundles.manifest import KINDS, load_bundle
from harness.errors import BadInput
from tests.fixtures.inner import InnerSplitSpy, assert_early_stopping_used_the_inner_split, watch_training

BUNDLES = discover_bundles()
PROTOCOL = "casme3-3class"
#: Smaller settings of the shipped neural bundles (a bundle not listed runs its quick profile as it is).
FAST = {
    "featref": {"epochs": 2, "width": 2, "reduce": 4, "dim": 8},
    "fullseq-transformer": {"epochs": 2, "dim": 8, "heads": 2, "dim_head": 4, "mlp_dim": 16},
    "htnet-esaat": {"epochs": 1, "finetune_epochs": 1},
}
EARLY = {"early_stopping": True, "patience": 1}


def test_every_shipped_bundle_is_discovered():
    shipped = {p.name for root in ("baselines", "submissions")
               for p in (Path(__file__).resolve().parents[2] / root).iterdir() if (p / "bundle.yaml").is_file()}
    assert set(BUNDLES) == shipped and len(shipped) >= 7


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_the_manifest_is_valid_and_every_profile_instantiates(name):
    bundle = load_bundle(BUNDLES[name])
    assert bundle.name == name and bundle.kind in KINDS and bundle.default_profile in bundle.profiles
    for profile in bundle.profiles:
        model = instantiate(bundle, bundle.resolve_config(profile)[1])
        assert callable(model.fit) and callable(model.predict), (name, profile)


@pytest.fixture(scope="module")
def fold(tmp_path_factory):
    """One LOSO fold of a 3-subject synthetic CAS(ME)^3: its TrainSet and label-free TestSet, as a worker gets."""
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.runner.opaque import opaque_ids
    from harness.runner.staging import stage_table
    from harness.runner.views import test_set, train_set
    from harness.synth.writer import generate

    tmp = tmp_path_factory.mktemp("conformance")
    generate(tmp / "data", "casme3", seed=0, subjects=3, progress=False, workers=1)
    proto = get_protocol(PROTOCOL)
    task = build_task(proto, tmp / "data")
    first = task.folds()[0]
    staged = stage_table(task.table, opaque_ids(task.table["uid"]), store=tmp / "frames")
    return (first.name, train_set(task.table, first.train, staged, proto.classes),
            test_set(task.table, first.test, staged, proto.classes, proto.test_keyframes), tmp)


def _context(fold, seed: int, splitter=None) -> Context:
    from harness.preprocess import Preprocessor
    from harness.runner.inner import inner_split
    from harness.runner.worker import seed_everything

    name, train, _, tmp = fold
    seed_everything(seed, 1, "cpu")
    work = tmp / f"work-{seed}-{np.random.default_rng().integers(1 << 30)}"
    return Context(classes=train.classes, protocol=PROTOCOL, phase=None, fold=name, seed=seed, device="cpu",
                   profile="quick", config={}, cache_dir=work / "cache", work_dir=work,
                   preprocessor=Preprocessor(tmp / "preprocess", threads=1), inner_splitter=splitter or inner_split)


def _config(name: str, **extra) -> tuple:
    bundle = load_bundle(BUNDLES[name])
    return bundle, bundle.resolve_config("quick", {**FAST.get(name, {}), **extra})[1]


def _fit_predict(name: str, fold, seed: int) -> tuple[list[int], np.ndarray | None]:
    from harness.runner.worker import normalise_output

    bundle, config = _config(name)
    _, train, test, _ = fold
    model = instantiate(bundle, config)
    model.fit(train, _context(fold, seed))
    pred, proba = normalise_output(model.predict(test, _context(fold, seed)), test)
    return list(pred), proba


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_fit_predict_gives_a_valid_class_for_every_test_id_and_the_same_seed_the_same_predictions(name, fold):
    _, _, test, _ = fold
    pred, proba = _fit_predict(name, fold, seed=0)
    assert len(pred) == len(test) > 0
    assert all(0 <= p < len(test.classes) for p in pred)
    if proba is not None:
        assert proba.shape == (len(test), len(test.classes)) and np.allclose(proba.sum(1), 1, atol=1e-5)
    again, proba_again = _fit_predict(name, fold, seed=0)
    assert again == pred
    if proba is not None:
        np.testing.assert_array_equal(proba_again, proba)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_early_stopping_where_a_bundle_has_it_validates_on_the_inner_split(name, fold, monkeypatch):
    bundle, _ = _config(name)
    try:
        config = _config(name, **EARLY)[1]
        model = instantiate(bundle, config)
    except BadInput as exc:  # no early stopping: the key is refused, not silently ignored
        assert "early_stopping" in str(exc) or "patience" in str(exc), exc
        return
    _, train, _, _ = fold
    splits, fits = InnerSplitSpy(), watch_training(monkeypatch)
    model.fit(train, _context(fold, 0, splits))
    assert_early_stopping_used_the_inner_split(train, splits, fits)
