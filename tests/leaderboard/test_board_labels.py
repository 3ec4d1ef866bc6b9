"""What a board says ran: the bundle manifest's display name and the profile (`quick (reduced)` when the quick
profile is not the paper configuration, plus any overrides), carried in provenance into the System cell."""
from __future__ import annotations

import pytest

from harness.errors import ValidationFailed
from harness.leaderboard.render import render_board
from harness.protocols import get_protocol
from harness.bundles.manifest import load_bundle
from tests.baselines.helpers import REPO


def _bundle(tmp_path, **fields):
    folder = tmp_path / "b"
    folder.mkdir(exist_ok=True)
    (folder / "model.py").write_text("class M:\n    def fit(self, *a): pass\n    def predict(self, *a): pass\n")
    lines = ["name: my-bundle", "team: t", "kind: system", "entry_point: model:M", "description: d"]
    lines += [f"{k}: {v}" for k, v in fields.items()]
    (folder / "bundle.yaml").write_text("\n".join(lines) + "\n")
    return load_bundle(folder)


def test_display_name_is_read_defaults_to_the_name_and_is_validated(tmp_path):
    assert _bundle(tmp_path, profiles="{quick: {}}", display_name='"My method (reconstruction)"').display_name \
        == "My method (reconstruction)"
    assert _bundle(tmp_path, profiles="{quick: {}}").display_name == "my-bundle"
    for bad in ('"  "', '""', "[1, 2]", "null"):
        with pytest.raises(ValidationFailed) as exc:
            _bundle(tmp_path, profiles="{quick: {}}", display_name=bad)
        assert "display_name" in str(exc.value.problems[0])


def test_profile_label_says_when_quick_is_a_reduction(tmp_path):
    reduced = _bundle(tmp_path, profiles="{quick: {epochs: 1}, paper: {epochs: 800}}")
    assert reduced.profile_label("quick") == "quick (reduced)" and reduced.profile_label("paper") == "paper"
    assert reduced.profile_label("paper", {"epochs": 10, "lr": 0.1}) == "paper + epochs=10, lr=0.1"
    same = _bundle(tmp_path, profiles="{quick: {}, paper: {}}")   # the sanity bundles: nothing is reduced
    assert same.profile_label("quick") == "quick"
    assert load_bundle(REPO / "baselines" / "featref").display_name == "FeatRef (reconstruction)"


def _row(provenance: dict, profile: str | None, system: str = "featref") -> dict:
    from harness.leaderboard.render import _system_label

    metric = {"value": 0.5, "ci": [0.4, 0.6], "std": 0.0}
    return {"id": 1, "label": _system_label(system, provenance, profile), "team": "harness", "kind": "baseline",
            "metrics": {"uf1": metric, "uar": metric, "acc": metric}, "n_seeds": 1, "n_samples": 9,
            "provenance": provenance, "created_at": "2026-01-01", "report": {"n_subjects": 12}}


def _system_cells(md: str) -> list[str]:
    rows = [ln for ln in md.split("## Measured here")[1].splitlines() if ln.startswith("|")][2:]
    return [ln.split("|")[3].strip() for ln in rows]


def test_board_rows_show_display_name_and_profile():
    proto = get_protocol("casme3-3class")
    run = {"bundle": {"display_name": "FeatRef (reconstruction)"}, "profile_label": "quick (reduced)"}
    md = render_board(proto, None, [_row(run, "quick")], [], {})
    assert _system_cells(md) == ["FeatRef (reconstruction) · quick (reduced)"]
    assert "`quick (reduced)` is a CPU-sized reduction" in md
    # a result recorded before display names existed: the system name and the store's profile column
    assert _system_cells(render_board(proto, None, [_row({}, "paper")], [], {})) == ["featref · paper"]
    # a scored predictions file has no profile: the system name alone
    assert _system_cells(render_board(proto, None, [_row({}, None, "my-file-system")], [], {})) == ["my-file-system"]


def test_profile_reduction_says_what_quick_changes_from_paper_and_reaches_the_detail_page(tmp_path):
    from harness.leaderboard.details import render_detail

    reduced = _bundle(tmp_path, profiles="{quick: {epochs: 1, lr: 0.1}, paper: {epochs: 800, lr: 0.1, dim: 64}}")
    assert reduced.profile_reduction("quick") == "dim (unset) (paper 64); epochs 1 (paper 800)"
    assert reduced.profile_reduction("paper") == ""
    assert _bundle(tmp_path, profiles="{quick: {}, paper: {}}").profile_reduction("quick") == ""
    row = {**_row({"profile_label": "quick (reduced)", "profile_reduction": "epochs 1 (paper 800)"}, "quick"),
           "report": {"n_samples": 2, "n_subjects": 2, "n_seeds": 1, "seeds": [0], "classes": ["a", "b"],
                      "metrics": {"uf1": {"value": 0.5, "ci": [0.4, 0.6], "std": 0.0}},
                      "per_class": [{"class": c, "precision": 1, "recall": 1, "f1": 1, "support": 1} for c in "ab"],
                      "confusion": [[[1, 0], [0, 1]]]}}
    page = render_detail(get_protocol("casme3-3class"), None, row, "casme3-3class.md", "provenance/x.json", "x.png")
    assert "`quick` reduces the method: epochs 1 (paper 800)." in page
