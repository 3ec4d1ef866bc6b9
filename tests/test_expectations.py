"""The committed expectations file (what CI's `harness check` enforces) is valid and complete: every shipped
bundle on every board, with an upper bound as well as a lower one (a sudden jump is how a label leak shows)."""
from __future__ import annotations

from harness.paths import builtin_dir
from harness.protocols import get_protocol, protocol_names
from harness.bundles.discover import discover_bundles
from harness.experiments.check import load_expectations


def test_every_shipped_bundle_is_expected_on_every_board_with_two_sided_bounds():
    spec = load_expectations(builtin_dir("expectations.yaml"))
    assert spec.profile == "quick" and spec.seeds == [0]
    boards = {(p, ph) for p in protocol_names() for ph in get_protocol(p).board_names()}
    covered = {(c.bundle, c.protocol, c.phase) for c in spec.checks}
    assert len(covered) == len(spec.checks), "a bundle x board is listed twice"
    missing = {(b, p, ph) for b in discover_bundles() for p, ph in boards} - covered
    assert not missing, f"no expectation for {sorted(missing, key=str)}"
    for c in spec.checks:
        assert set(c.bounds["uf1"]) == {"min", "max"}, c
        assert 0 < c.tolerance <= 0.1, c


def test_sanity_rows_are_pinned_exactly_and_stay_below_every_real_method():
    spec = load_expectations(builtin_dir("expectations.yaml"))
    uf1 = {(c.bundle, c.protocol, c.phase): c.bounds["uf1"]["max"] for c in spec.checks}
    tol = {c.bundle: c.tolerance for c in spec.checks}
    assert tol["sanity-majority"] == tol["sanity-stratified"] == 0.001
    for (bundle, protocol, phase), value in uf1.items():
        if bundle.startswith("sanity") or bundle == "lbp-top" and phase == "test_B":  # LBP-TOP is at chance there
            continue
        chance = max(uf1[(s, protocol, phase)] for s in ("sanity-majority", "sanity-stratified"))
        assert value > chance, f"{bundle} on {protocol} {phase or ''} is expected at or below chance"
