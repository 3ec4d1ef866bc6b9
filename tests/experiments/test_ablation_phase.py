"""`harness ablate --protocol P`: the manifest's `ablations.phase` belongs to the manifest's protocol only."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from tests.fullseq_helpers import BUNDLE_DIR


@pytest.mark.parametrize("protocol, phase, expect", [
    (None, None, ("ccac2024-dfme", "test_A")),                    # the manifest's protocol and phase
    ("ccac2024-dfme", "test_B", ("ccac2024-dfme", "test_B")),      # an explicit phase wins
    ("megc2019-composite", None, ("megc2019-composite", None)),    # another protocol: no inherited phase
])
def test_phase_of_the_manifest_applies_to_its_protocol_only(monkeypatch, protocol, phase, expect):
    import harness.evaluate.submit as run
    import harness.store.db as db
    from harness.experiments.ablation import run_ablations

    calls = []

    def fake_submit(request):
        calls.append((request.protocol, request.phase))
        return SimpleNamespace(submission_id=1, report={})

    @contextlib.contextmanager
    def fake_store(path=None):
        yield SimpleNamespace(get_submission=lambda i: SimpleNamespace(provenance={}))

    monkeypatch.setattr(run, "submit", fake_submit)
    monkeypatch.setattr(db, "open_store", fake_store)
    meta, rows = run_ablations(str(BUNDLE_DIR), protocol, phase, only=("full",))
    assert calls == [expect] and (meta["protocol"], meta["phase"]) == expect
