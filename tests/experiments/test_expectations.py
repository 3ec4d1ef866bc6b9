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


def test_a_malformed_expectations_file_is_refused_naming_file_key_and_fix(tmp_path, capsys):
    from harness.cli.main import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntolerence: 0.1\nseeds: [x]\nchecks:\n"
                   "  - {bundle: a, protocol: casme3-3class, expect: {uf1: {mn: 0.3}, auc: {min: 1}, acc: {}}}\n"
                   "  - {protocol: casme3-3class, expect: {uf1: {min: high}}}\n")
    assert main(["check", "-e", str(bad)]) == 2
    err = capsys.readouterr().err
    for key, message in [("tolerence", "did you mean 'tolerance'?"), ("seeds", "must be a non-empty list of seeds"),
                         ("checks[0].expect.uf1.mn", "did you mean 'min'?"),
                         ("checks[0].expect.auc", "is not a metric protocol casme3-3class computes (uf1, uar, acc)"),
                         ("checks[0].expect.acc", "give min and/or max"), ("checks[1].bundle", "missing field"),
                         ("checks[1].expect.uf1.min", "must be a number, not 'high'")]:
        assert any(f"{bad}, key {key!r}: " in line and message in line for line in err.splitlines()), (key, err)
    assert "7 problem(s)" in err
