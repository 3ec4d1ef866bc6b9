"""Leaderboards: ranking and ties, keep rules, published rows, inert names, atomic files, the figure, and
recorded scores from `harness score --record` showing up beside the published rows."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from harness.cli.main import main
from harness.leaderboard.render import inert, write_boards
from harness.paths import builtin_dir, leaderboard_dir
from harness import fsutil
from harness.store import db
from harness.store.db import open_store
from tests import formats as F

PUBLISHED = yaml.safe_load((builtin_dir("protocols") / "published" / "rows.yaml").read_text(encoding="utf-8"))
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _report(uf1: float, uar: float, acc: float, n: int = 10) -> dict:
    """A score report of the real shape with the given metric values (the matrices are placeholders)."""
    classes = ["a", "b"]
    return {"metrics": {m: {"value": v, "ci": [max(0.0, v - 0.1), min(1.0, v + 0.1)], "std": 0.0, "per_seed": [v]}
                        for m, v in (("uf1", uf1), ("uar", uar), ("acc", acc))}, "n_samples": n, "n_seeds": 1,
            "n_subjects": 12, "classes": classes, "confusion": [[[n // 2, 0], [0, n - n // 2]]], "seeds": [0],
            "per_class": [{"class": c, "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": n // 2}
                          for c in classes]}


def _add(store, protocol: str, phase: str | None, team: str, system: str, scores: tuple[float, float, float],
         created: str | None = None, kind: str = "system", version: str | None = None) -> int:
    from harness.protocols import get_protocol

    sid = store.record_scored_predictions(
        submission={"protocol": protocol, "protocol_version": version or get_protocol(protocol).version,
                    "phase": phase, "team": team, "system": system,
                    "kind": kind, "provenance": {"data_kind": "synthetic", "data_fingerprint": "abcdef0123456789"}},
        sample_ids=["x"], folds=["f"], predictions=[0], proba=None, report=_report(*scores))
    if created:
        store.conn.execute("UPDATE submissions SET created_at=? WHERE id=?", (created, sid))
    return sid


def _measured(md: str) -> list[list[str]]:
    """Rows of the 'Measured here' table as lists of cells."""
    part = md.split("## Measured here", 1)[1].split("## Published", 1)[0]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in _CELL_SPLIT.split(ln)[1:-1]] for ln in lines[2:]]


def _published(md: str) -> list[list[str]]:
    if "## Published" not in md:
        return []
    section = md.split("## Published", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in _CELL_SPLIT.split(ln)[1:-1]] for ln in lines[2:]]


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "boards"


def test_ranking_uf1_then_uar_then_acc_then_earliest(out):
    with open_store() as s:
        _add(s, "casme3-7class", None, "ta", "A", (0.5, 0.5, 0.5), "2024-01-01T00:00:00.000000Z")
        _add(s, "casme3-7class", None, "tb", "B", (0.6, 0.1, 0.1), "2024-01-05T00:00:00.000000Z")
        _add(s, "casme3-7class", None, "tc", "C", (0.5, 0.6, 0.1), "2024-01-05T00:00:00.000000Z")
        _add(s, "casme3-7class", None, "td", "D", (0.5, 0.5, 0.6), "2024-01-05T00:00:00.000000Z")
        _add(s, "casme3-7class", None, "te", "E", (0.5, 0.5, 0.5), "2024-01-02T00:00:00.000000Z")
        _add(s, "casme3-7class", None, "tf", "F", (0.5, 0.5, 0.5), "2023-12-31T23:59:59.999999Z")
        write_boards("casme3-7class", store=s, out_dir=out)
    rows = _measured((out / "casme3-7class.md").read_text())
    assert [r[2] for r in rows] == ["B", "C", "D", "F", "A", "E"]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0][5] == "0.6000 [0.500, 0.700]" and rows[0][9] == "10" and rows[0][11] == "2024-01-05"
    assert rows[0][10] == "synthetic abcdef01"


def test_keep_best_versus_latest(out):
    with open_store() as s:
        for v in (0.3, 0.5, 0.4):
            _add(s, "ccac2024-dfme", "test_A", "team", "sys", (v, v, v))   # keep: best
            _add(s, "casme3-7class", None, "team", "sys", (v, v, v))      # keep: latest
        write_boards(store=s, out_dir=out)
    best = _measured((out / "ccac2024-dfme-test_A.md").read_text())
    latest = _measured((out / "casme3-7class.md").read_text())
    assert len(best) == 1 and best[0][5].startswith("0.5000")
    assert len(latest) == 1 and latest[0][5].startswith("0.4000")
    assert "each (team, system) shows its best-ranked scored submission" in (out / "ccac2024-dfme-test_A.md").read_text()
    assert _measured((out / "ccac2024-dfme-test_B.md").read_text()) == []


def test_provenance_files_are_exactly_those_the_boards_cite(out):
    with open_store() as s:
        _add(s, "casme3-7class", None, "team", "sys", (0.3, 0.3, 0.3))
        write_boards(store=s, out_dir=out)
        first = {p.name for p in (out / "provenance").iterdir()}
        _add(s, "casme3-7class", None, "team", "sys", (0.4, 0.4, 0.4))  # keep: latest supersedes the first
        write_boards("casme3-7class", store=s, out_dir=out)  # one protocol: other boards' files are not judged
        assert first < {p.name for p in (out / "provenance").iterdir()}
        write_boards(store=s, out_dir=out)
    files = {p.name for p in (out / "provenance").iterdir()}
    cited = set(re.findall(r"provenance/([^)]+\.json)", (out / "casme3-7class.md").read_text()))
    assert files == cited and len(files) == 1 and not files & first


def test_committed_boards_mirror_only_the_checkouts_own_store(monkeypatch, harness_home):
    from harness.paths import REPO_ROOT

    monkeypatch.delenv("HARNESS_LEADERBOARD_DIR")
    assert leaderboard_dir() == harness_home / "leaderboard"  # a scratch home never touches leaderboard/
    assert leaderboard_dir(REPO_ROOT / ".harness" / "results.sqlite") == REPO_ROOT / "leaderboard"
    monkeypatch.setenv("HARNESS_HOME", str(REPO_ROOT / ".harness"))
    assert leaderboard_dir() == REPO_ROOT / "leaderboard"
    assert leaderboard_dir(harness_home / "ablations.sqlite") == REPO_ROOT / ".harness" / "leaderboard"
    monkeypatch.setenv("HARNESS_LEADERBOARD_DIR", str(harness_home / "elsewhere"))
    assert leaderboard_dir() == harness_home / "elsewhere"


def test_a_store_in_a_folder_below_the_checkouts_home_is_not_the_checkouts_own(monkeypatch, harness_home):
    """A work home under <checkout>/.harness (the scale benchmark's, by default) keeps its boards to itself."""
    from harness.paths import REPO_ROOT

    monkeypatch.delenv("HARNESS_LEADERBOARD_DIR")
    work = REPO_ROOT / ".harness" / "scale" / "home"
    assert leaderboard_dir(work / "results.sqlite") == harness_home / "leaderboard"
    monkeypatch.setenv("HARNESS_HOME", str(work))
    assert leaderboard_dir() == work / "leaderboard"
    assert leaderboard_dir(REPO_ROOT / ".harness" / "results.sqlite") == REPO_ROOT / "leaderboard"


def test_boards_for_every_protocol_and_phase(out, capsys):
    assert main(["leaderboard", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["casme2-5class.md", "casme3-3class.md", "casme3-4class.md", "casme3-7class.md",
                     "ccac2024-dfme-test_A.md", "ccac2024-dfme-test_B.md", "megc2019-composite.md", "samm-5class.md",
                     "smic-3class.md"]
    assert capsys.readouterr().out.count(".md") == 9
    assert "No scored submissions yet." in (out / "megc2019-composite.md").read_text()


def test_a_board_shows_only_the_protocols_current_version_and_counts_the_others(out):
    """megc2019-composite 1.1 changed its exclusions: a 1.0 score is of other data and is not ranked beside 1.1."""
    with open_store() as s:
        _add(s, "megc2019-composite", None, "old", "A", (0.9, 0.9, 0.9), version="1.0")
        _add(s, "megc2019-composite", None, "new", "B", (0.3, 0.3, 0.3))
        write_boards("megc2019-composite", store=s, out_dir=out)
    md = (out / "megc2019-composite.md").read_text()
    assert [r[2] for r in _measured(md)] == ["B"]
    assert "Not shown: 1 scored submission(s) under other versions of the protocol (v1.0: 1)" in md


@pytest.mark.parametrize("board", sorted({r["board"] for r in PUBLISHED}))
def test_published_rows_in_their_own_section(board, out):
    protocol, _, phase = board.partition("/")
    with open_store() as s:
        _add(s, protocol, phase or None, "us", "HTNet", (0.2, 0.2, 0.2))  # same name as a published system
        write_boards(protocol, store=s, out_dir=out)
    md = (out / (f"{protocol}-{phase}.md" if phase else f"{protocol}.md")).read_text()
    want = [r for r in PUBLISHED if r["board"] == board]
    published = _published(md)
    assert len(published) == len(want) and {r[2] for r in published} == {"published"}
    assert [float(r[3]) for r in published] == sorted((float(r["uf1"]) for r in want), reverse=True)
    assert {inert(r["system"]) for r in want} == {r[0] for r in published}
    assert "not measured here, not ranked" in md
    measured = _measured(md)
    assert [(r[2], r[4]) for r in measured] == [("HTNet", "system")]  # nothing published leaks in


def test_names_render_inert(out):
    evil_team = "<script>alert(1)</script>"
    evil_system = "**bold** | pipe [x](http://e) `c` $x^$ newline"  # a newline is refused (test_submission_rules)
    with open_store() as s:
        _add(s, "casme3-3class", None, evil_team, evil_system, (0.4, 0.4, 0.4))
        _add(s, "casme3-3class", None, "plain", "plain", (0.3, 0.3, 0.3), kind="<b>k</b>")
        write_boards("casme3-3class", store=s, out_dir=out)
    md = (out / "casme3-3class.md").read_text()
    assert "<script>" not in md and "<b>" not in md
    rows = _measured(md)
    assert rows[0][3] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert rows[0][2] == r"\*\*bold\*\* \| pipe \[x\](http://e) \`c\` \$x^\$ newline"
    assert rows[1][4] == "&lt;b&gt;k&lt;/b&gt;"
    header = [ln for ln in md.splitlines() if ln.startswith("| Rank")][0]
    n_cells = len(_CELL_SPLIT.split(header))
    assert all(len(_CELL_SPLIT.split(ln)) == n_cells for ln in md.split("## Published")[0].splitlines()
               if ln.startswith("|"))
    png = (out / "casme3-3class.png").read_bytes()  # the figure survives a mathtext-like name
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_inert():
    assert inert("a_b*c") == r"a\_b\*c"
    assert inert("x < y & z") == "x &lt; y &amp; z"
    assert inert("  two\n lines ") == "two lines"
    assert inert(42) == "42"


def test_files_written_atomically_with_no_leftovers(out, monkeypatch):
    with open_store() as s:
        _add(s, "casme3-7class", None, "t", "s", (0.5, 0.5, 0.5))
        written = write_boards("casme3-7class", store=s, out_dir=out)
        assert [p.name for p in written] == ["casme3-7class.md", "casme3-7class.png"]
        before = (out / "casme3-7class.md").read_text()
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        assert files == ["casme3-7class.md", "casme3-7class.png", "details/casme3-7class-submission-1.md",
                         "details/casme3-7class-submission-1.png", "provenance/submission-1.json"]
        assert '"uf1"' in (out / "provenance" / "submission-1.json").read_text()
        # a crash while replacing the file leaves the old board and no temporary file
        _add(s, "casme3-7class", None, "t2", "s2", (0.9, 0.9, 0.9))

        def boom(src, dst):
            raise OSError("disk full")
        monkeypatch.setattr(fsutil.os, "replace", boom)
        with pytest.raises(OSError, match="disk full"):
            write_boards("casme3-7class", store=s, out_dir=out)
        monkeypatch.undo()
        assert (out / "casme3-7class.md").read_text() == before
        assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
        mtime = os.stat(out / "casme3-7class.md").st_mtime_ns
        write_boards("casme3-7class", store=s, out_dir=out)
        assert (out / "casme3-7class.md").read_text() != before
        write_boards("casme3-7class", store=s, out_dir=out)  # unchanged text: not rewritten
        assert os.stat(out / "casme3-7class.md").st_mtime_ns >= mtime


def test_recorded_score_appears_beside_published_rows(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(db, "utcnow", lambda: "2024-06-01T12:00:00.000000Z")  # both attempts on one UTC day
    root = tmp_path / "data"
    F.write_dataset(root, "dfme", F.dfme_records())
    tpl = tmp_path / "p.csv"
    assert main(["template", "-p", "ccac2024-dfme", "--phase", "test_A", "--data-root", str(root), "-o", str(tpl)]) == 0
    ids = [ln.split(",")[0] for ln in tpl.read_text().splitlines()[1:]]
    tpl.write_text("sample_id,prediction\n" + "".join(f"{sid},{j % 7}\n" for j, sid in enumerate(ids)))
    argv = ["score", str(tpl), "-p", "ccac2024-dfme", "--phase", "test_A", "--data-root", str(root), "--record",
            "--team", "Team **X**", "--system", "my system", "--draws", "50"]
    assert main(argv) == 0
    assert "recorded as submission 1; leaderboard updated" in capsys.readouterr().out
    md = (leaderboard_dir() / "ccac2024-dfme-test_A.md").read_text()
    (row,) = _measured(md)
    assert row[:5] == ["1", "1", "my system", r"Team \*\*X\*\*", "system"]
    assert row[5].startswith("1.0000 [1.000, 1.000]") and row[9] == "14" and row[11] == "2024-06-01"
    assert row[12] == "[classes](details/ccac2024-dfme-test_A-submission-1.md)"
    assert row[13] == "[submission-1](provenance/submission-1.json)"
    assert (leaderboard_dir() / "provenance" / "submission-1.json").is_file()
    assert [r[0] for r in _published(md)][:1] == ["He et al. full-sequence transformer (rank 1)"]
    assert (leaderboard_dir() / "ccac2024-dfme-test_A.png").is_file()
    # the same team again the same day: refused, exit 2, board unchanged
    assert main(argv) == 2
    assert "try again tomorrow" in capsys.readouterr().err
    assert (leaderboard_dir() / "ccac2024-dfme-test_A.md").read_text() == md


def test_leaderboard_unknown_protocol(capsys):
    assert main(["leaderboard", "--protocol", "megc2019"]) == 2
    assert "did you mean 'megc2019-composite'" in capsys.readouterr().err


# ----- tiers, detail pages, per-dataset columns, notes ------------------------------------------------------------
def _real(store, protocol: str, team: str, skill: float, seed: int, datasets=None, subjects: int = 20) -> int:
    """A submission whose report is built from simulated predictions (per-subject matrices kept, as runs keep
    them): `skill` is the share predicted right."""
    import numpy as np

    from harness.protocols import get_protocol
    from harness.scoring.report import build_report

    proto = get_protocol(protocol)
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"s{i:02d}" for i in range(subjects)], 6)
    y = np.random.default_rng(0).integers(0, proto.n_classes, len(groups))   # the same truth for every team
    pred = np.where(rng.random(len(y)) < skill, y, rng.integers(0, proto.n_classes, len(y)))
    ds = None if datasets is None else np.array([datasets[i % len(datasets)] for i in range(len(y))])
    report = build_report(proto.classes, y, [pred], groups, draws=200, metrics=proto.metrics, datasets=ds,
                          part_titles=proto.part_titles(), per_subject=True)
    return store.record_scored_predictions(
        submission={"protocol": protocol, "protocol_version": proto.version, "phase": None, "team": team,
                    "system": team, "kind": "system", "provenance": {"data_kind": "synthetic"}},
        sample_ids=[str(i) for i in range(len(y))], folds=list(groups), predictions=pred.tolist(), proba=None,
        report=report)


def test_rows_not_distinguishable_from_the_leader_share_its_tier(out):
    with open_store() as s:
        for team, skill, seed in (("best", 0.85, 1), ("close", 0.84, 2), ("weak", 0.2, 3), ("weaker", 0.18, 4)):
            _real(s, "casme3-7class", team, skill, seed)
        write_boards("casme3-7class", store=s, out_dir=out)
    md = (out / "casme3-7class.md").read_text()
    tiers = {r[2]: r[1] for r in _measured(md)}
    assert tiers["best"] == "1" and tiers["close"].startswith("1 (p=")
    assert tiers["weak"] == "2" and tiers["weaker"].startswith("2 (p=")
    assert "paired permutation test over subjects" in md and "α = 0.05" in md


def test_every_measured_row_links_a_detail_page_with_per_class_scores_and_its_confusion(out):
    with open_store() as s:
        sid = _real(s, "casme3-3class", "t", 0.7, 5)
        write_boards("casme3-3class", store=s, out_dir=out)
        report = s.scores(sid)
    (row,) = _measured((out / "casme3-3class.md").read_text())
    link = re.match(r"\[classes\]\((details/[^)]+\.md)\)", row[12]).group(1)
    page = (out / link).read_text()
    for p in report["per_class"]:
        assert f"| {p['class']} " in page and f"{p['f1']:.3f}" in page
    table = page.split("## Confusion matrix", 1)[1].split("![", 1)[0]
    cells = [[c.strip() for c in ln.split("|")[1:-1]] for ln in table.splitlines() if ln.startswith("|")][2:]
    assert [[int(c) for c in r[1:]] for r in cells] == report["confusion"][0]
    assert [r[0] for r in cells] == report["classes"]
    figure = re.search(r"!\[confusion matrix\]\(([^)]+)\)", page).group(1)
    assert (out / "details" / figure).read_bytes().startswith(b"\x89PNG")
    assert "../casme3-3class.md" in page and "**synthetic**" in page


def test_the_composite_board_has_per_dataset_columns_and_phase_boards_do_not_pool_folds(out):
    with open_store() as s:
        _real(s, "megc2019-composite", "t", 0.7, 6, datasets=["casme2", "samm", "smic"], subjects=21)
        write_boards("megc2019-composite", store=s, out_dir=out)
        _add(s, "ccac2024-dfme", "test_A", "t", "s", (0.5, 0.5, 0.5))
        write_boards("ccac2024-dfme", store=s, out_dir=out)
    md = (out / "megc2019-composite.md").read_text()
    section = md.split("## Per dataset (Full / SMIC-HS / CASME II / SAMM)", 1)[1]
    header = [ln for ln in section.splitlines() if ln.startswith("| System")][0]
    assert [c.strip() for c in header.split("|")[3:6]] == ["Full UF1", "Full UAR", "Full ACC"]
    assert "SMIC-HS UF1" in header and header.index("SMIC-HS") < header.index("CASME II") < header.index("SAMM")
    lbp = [ln for ln in section.splitlines() if ln.startswith("| LBP-TOP")]
    assert lbp and "—" not in lbp[0].split("|")[3]
    assert "pooled over all folds" in md
    phase = (out / "ccac2024-dfme-test_A.md").read_text()
    assert "pooled over all folds" not in phase and "the phase's test split" in phase


def test_a_skewed_or_few_subject_interval_gets_a_note(out):
    with open_store() as s:
        _real(s, "casme3-7class", "few", 0.5, 7, subjects=4)
        write_boards("casme3-7class", store=s, out_dir=out)
    md = (out / "casme3-7class.md").read_text()
    (row,) = _measured(md)
    assert row[5].endswith("‡") and "‡ The UF1 interval is skewed" in md


def test_leaderboard_formats_csv_json_latex_carry_the_boards_rows(capsys, tmp_path):
    import csv
    import io
    import json

    with open_store() as s:
        _real(s, "casme3-7class", "A & B_team", 0.9, 1)
        _real(s, "casme3-7class", "second", 0.3, 2)
    assert main(["leaderboard", "-p", "casme3-7class", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    measured = [r for r in rows if r["kind"] != "published"]
    assert [(r["rank"], r["team"]) for r in measured] == [("1", "A & B_team"), ("2", "second")]
    assert float(measured[0]["uf1_low"]) <= float(measured[0]["uf1"]) <= float(measured[0]["uf1_high"])
    assert measured[0]["tier"] == "1" and measured[1]["tier"] == "2"
    assert measured[0]["seeds"] == "1" and measured[0]["uf1_std"] == ""  # one seed: no spread to report, not 0.0
    published = [r for r in rows if r["kind"] == "published"]
    assert {r["system"] for r in published} == {p["system"] for p in PUBLISHED if p["board"] == "casme3-7class"}
    assert main(["leaderboard", "-p", "casme3-7class", "--format", "json", "-o", str(tmp_path / "b.json")]) == 0
    doc = json.loads((tmp_path / "b.json").read_text())
    assert [r["uf1"] for r in doc[:2]] == [float(r["uf1"]) for r in measured]
    assert main(["leaderboard", "-p", "casme3-7class", "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and r"A \& B\_team" in tex and tex.count(r"\\") >= len(rows) + 1
    assert main(["leaderboard", "--format", "csv", "--phase", "test_A"]) == 2   # --phase needs --protocol


def test_published_rows_cite_the_paper_carry_their_n_and_the_composite_breakdown(out):
    with open_store() as s:
        _add(s, "casme3-3class", None, "us", "x", (0.2, 0.2, 0.2))
        _add(s, "megc2019-composite", None, "us", "x", (0.2, 0.2, 0.2))
        write_boards("casme3-3class", store=s, out_dir=out)
        write_boards("megc2019-composite", store=s, out_dir=out)
    rows = {r[0]: r for r in _published((out / "casme3-3class.md").read_text())}
    assert rows["HTNet"][6].startswith("687 (HTNet's list") and "ours has 699" in rows["HTNet"][6]
    assert "doi:10.1007/s11704-025-40976-3" in rows["HTNet"][7] and "shared/seeds" not in rows["HTNet"][7]
    assert "Frontiers of Computer Science, 2025" in rows["HTNet"][7]
    md = (out / "megc2019-composite.md").read_text()
    lbp = [ln for ln in md.split("## Per dataset", 1)[1].splitlines() if ln.startswith("| LBP-TOP")][0]
    assert [c.strip() for c in lbp.split("|")[3:15]] == ["0.5882", "0.5785", "—", "0.2000", "0.5280", "—",
                                                          "0.7026", "0.7429", "—", "0.3954", "0.4102", "—"]
    assert "https://github.com/Facial-Micro-ExpressionGC/MEGC2019" in md


def test_a_published_row_with_a_broken_citation_is_refused(tmp_path, monkeypatch):
    from harness.errors import ValidationFailed
    from harness.protocols.published import published_rows

    broken = {"board": "casme3-3class", "system": "Mine", "uf1": 0.5, "source": "x", "n": -3,
              "cite": {"authors": "A", "venue": "V", "year": 2024}, "parts": {"casme3": {"uf1": 2.0}}}
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "mine.yaml").write_text(yaml.safe_dump([broken]))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(tmp_path))
    with pytest.raises(ValidationFailed) as exc:
        published_rows("casme3-3class", None)
    text = "\n".join(str(p) for p in exc.value.problems)
    for wrong in ("doi or a url", "positive sample count", "[0, 1]"):
        assert wrong in text


def test_a_multi_seed_row_shows_mean_and_std_over_seeds_beside_its_interval(out):
    import numpy as np

    from harness.protocols import get_protocol
    from harness.scoring.report import build_report

    proto = get_protocol("casme3-3class")
    rng = np.random.default_rng(0)
    groups = np.repeat([f"s{i}" for i in range(12)], 5)
    y = rng.integers(0, 3, len(groups))
    preds = [np.where(rng.random(len(y)) < 0.6, y, rng.integers(0, 3, len(y))) for _ in range(3)]
    report = build_report(proto.classes, y, preds, groups, draws=100, seeds=[0, 1, 2], per_subject=True)
    with open_store() as s:
        s.record_scored_predictions(
            submission={"protocol": proto.name, "protocol_version": proto.version, "phase": None, "team": "t",
                        "system": "three-seeds", "kind": "system", "provenance": {}},
            sample_ids=[str(i) for i in range(len(y))], folds=list(groups), predictions=preds[0].tolist(),
            proba=None, report=report)
        write_boards(proto.name, store=s, out_dir=out)
    (row,) = _measured((out / "casme3-3class.md").read_text())
    m = report["metrics"]["uf1"]
    assert row[5] == f"{m['value']:.4f} ± {m['std']:.3f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]" and m["std"] > 0
    assert row[8] == "3"
