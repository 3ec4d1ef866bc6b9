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
    return {"metrics": {m: {"value": v, "ci": [max(0.0, v - 0.1), min(1.0, v + 0.1)], "std": 0.0, "per_seed": [v]}
                        for m, v in (("uf1", uf1), ("uar", uar), ("acc", acc))}, "n_samples": n, "n_seeds": 1}


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
    lines = [ln for ln in md.split("## Published", 1)[1].splitlines() if ln.startswith("|")]
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
    assert [r[1] for r in rows] == ["B", "C", "D", "F", "A", "E"]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0][4] == "0.6000 [0.500, 0.700]" and rows[0][8] == "10" and rows[0][10] == "2024-01-05"
    assert rows[0][9] == "synthetic abcdef01"


def test_keep_best_versus_latest(out):
    with open_store() as s:
        for v in (0.3, 0.5, 0.4):
            _add(s, "ccac2024-dfme", "test_A", "team", "sys", (v, v, v))   # keep: best
            _add(s, "casme3-7class", None, "team", "sys", (v, v, v))      # keep: latest
        write_boards(store=s, out_dir=out)
    best = _measured((out / "ccac2024-dfme-test_A.md").read_text())
    latest = _measured((out / "casme3-7class.md").read_text())
    assert len(best) == 1 and best[0][4].startswith("0.5000")
    assert len(latest) == 1 and latest[0][4].startswith("0.4000")
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


def test_boards_for_every_protocol_and_phase(out, capsys):
    assert main(["leaderboard", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["casme3-3class.md", "casme3-7class.md", "ccac2024-dfme-test_A.md", "ccac2024-dfme-test_B.md",
                     "megc2019-composite.md"]
    assert capsys.readouterr().out.count(".md") == 5
    assert "No scored submissions yet." in (out / "megc2019-composite.md").read_text()


def test_a_board_shows_only_the_protocols_current_version_and_counts_the_others(out):
    """megc2019-composite 1.1 changed its exclusions: a 1.0 score is of other data and is not ranked beside 1.1."""
    with open_store() as s:
        _add(s, "megc2019-composite", None, "old", "A", (0.9, 0.9, 0.9), version="1.0")
        _add(s, "megc2019-composite", None, "new", "B", (0.3, 0.3, 0.3))
        write_boards("megc2019-composite", store=s, out_dir=out)
    md = (out / "megc2019-composite.md").read_text()
    assert [r[1] for r in _measured(md)] == ["B"]
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
    assert [(r[1], r[3]) for r in measured] == [("HTNet", "system")]  # nothing published leaks in


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
    assert rows[0][2] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert rows[0][1] == r"\*\*bold\*\* \| pipe \[x\](http://e) \`c\` \$x^\$ newline"
    assert rows[1][3] == "&lt;b&gt;k&lt;/b&gt;"
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
        assert files == ["casme3-7class.md", "casme3-7class.png", "provenance/submission-1.json"]
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
    assert row[:4] == ["1", "my system", r"Team \*\*X\*\*", "system"]
    assert row[4].startswith("1.0000 [1.000, 1.000]") and row[8] == "14" and row[10] == "2024-06-01"
    assert row[11] == "[submission-1](provenance/submission-1.json)"
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
