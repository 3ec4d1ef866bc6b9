"""A refused or failed run costs nothing: every option is checked before anything is recorded, a hanging fold is
killed at its time limit without taking a slot, a kill between scoring and rendering is finished by re-running,
names that would deceive a reader are refused (and neutralised on the boards if already stored), and under
--json a machine reading stdout always gets one JSON document."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.store.db import open_store
from tests.tiny_corpus import write_tiny_corpus

BUNDLES = Path(__file__).parents[1] / "bundles"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("rules-corpus"), casme3_subjects=2)


def _submissions(home: Path) -> int:
    path = home / "results.sqlite"
    if not path.exists():
        return 0
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    finally:
        con.close()


BAD_OPTIONS = [
    (["--executor", "foo"], "unknown executor 'foo'"),
    (["--workers", "0"], "--workers must be a positive integer"),
    (["--gpus-per-fold", "1"], "applies to --executor ray only"),
    (["--profile", "fast"], "unknown profile"),
    (["--set", "hidden=[1,"], "not a YAML value"),
    (["--set", "hiden=3"], "refuses the settings"),
    (["--seeds", "1,x"], "--seeds takes integers"),
    (["--seeds", "-1"], "seeds must be integers in [0, 2^32)"),
    (["--team", "evil\u202eteam"], "invisible formatting character (U+202E"),
    (["--team", "\x1b[31mred"], "control character"),
    (["--team", "t" * 65], "the limit is 64"),
    (["--fold-batched"], "LOSO protocol"),
    (["--phase", "test_C"], "did you mean"),
]


@pytest.mark.parametrize("extra, message", BAD_OPTIONS, ids=[" ".join(a)[:30] for a, _ in BAD_OPTIONS])
def test_a_bad_option_is_refused_before_anything_is_recorded(corpus, harness_home, capsys, extra, message):
    phase = [] if "--phase" in extra else ["--phase", "test_B"]
    code = main(["submit", str(BUNDLES / "tiny-mlp"), "-p", "ccac2024-dfme", *phase, "--data-root", str(corpus),
                 "--quiet", "--device", "cpu", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert _submissions(harness_home) == 0


def test_typos_leave_every_phase_slot_free(corpus, harness_home, capsys):
    common = ["-p", "ccac2024-dfme", "--phase", "test_B", "--data-root", str(corpus), "--team", "t", "--quiet"]
    for typo in (["--executor", "seriel"], ["--gpus-per-fold", "2"], ["--executor", "local", "--workers", "-3"]):
        assert main(["submit", "sanity-majority", *common, *typo]) == 2
    for _ in range(3):  # test_B allows 3 scored submissions per team: all three are still there
        assert main(["submit", "sanity-majority", *common, "--rerun"]) == 0
    capsys.readouterr()


def test_a_hanging_fold_is_killed_at_its_time_limit_and_takes_no_slot(corpus, harness_home, capsys):
    common = ["-p", "ccac2024-dfme", "--phase", "test_B", "--data-root", str(corpus), "--team", "slow", "--quiet"]
    t0 = time.monotonic()
    code = main(["submit", str(BUNDLES / "slow"), *common, "--set", "pause_s=600", "--fold-time-limit", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "ran past its time limit of 2 s" in err, err
    assert time.monotonic() - t0 < 120
    with open_store() as store:
        (sub,) = store.submissions("ccac2024-dfme", "test_B")
        assert sub.status == "failed" and "time limit" in sub.error
    for _ in range(3):  # the failed run did not count
        assert main(["submit", "sanity-majority", *common, "--rerun"]) == 0


def test_rerunning_after_a_kill_between_scoring_and_rendering_writes_the_board(corpus, harness_home, capsys):
    from tests.fixtures.runs import submit

    board = harness_home / "leaderboard" / "casme3-7class.md"
    first = submit("sanity-majority", "casme3-7class", data_root=corpus)  # "killed" here
    assert not board.exists()
    assert main(["submit", "sanity-majority", "-p", "casme3-7class", "--data-root", str(corpus), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "reused" and doc["submission_id"] == first.submission_id
    assert "sanity-majority" in board.read_text()


# ----- names -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a\u202egnirts", "x\u2066y", "ab\u200bcd", "line\nbreak", "\x1b[2Jclear", "n" * 65])
def test_deceiving_names_are_refused_everywhere_a_name_enters(corpus, harness_home, tmp_path, capsys, name):
    assert main(["submit", "sanity-majority", "-p", "casme3-7class", "--data-root", str(corpus), "--team", name,
                 "--quiet"]) == 2
    preds = tmp_path / "p.csv"
    assert main(["template", "-p", "casme3-3class", "--data-root", str(corpus), "-o", str(preds)]) == 0
    preds.write_text(preds.read_text().replace(",\n", ",negative\n"))
    for team, system in ((name, "sys"), ("team", name)):
        assert main(["score", str(preds), "-p", "casme3-3class", "--data-root", str(corpus), "--record",
                     "--team", team, "--system", system]) == 2
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "bundle.yaml").write_text(json.dumps({"name": name, "team": "t", "kind": "system", "description": "d",
                                                    "entry_point": "model:X", "profiles": {"quick": {}}}))
    (bundle / "model.py").write_text("class X:\n    def fit(self, t, c): pass\n")
    assert main(["submit", str(bundle), "-p", "casme3-7class", "--data-root", str(corpus)]) == 2
    assert "malformed" in capsys.readouterr().err
    assert _submissions(harness_home) == 0


def test_names_stored_before_the_rules_are_neutralised_on_boards_and_listings(corpus, harness_home, capsys):
    from tests.fixtures.runs import submit

    out = submit("sanity-majority", "casme3-7class", data_root=corpus)
    evil = "\u202eevil\x1b[31m\nline" + "x" * 100_000
    con = sqlite3.connect(harness_home / "results.sqlite")
    con.execute("UPDATE submissions SET team=?, system=? WHERE id=?", (evil, evil, out.submission_id))
    con.commit()
    con.close()
    assert main(["leaderboard", "-p", "casme3-7class"]) == 0
    board = (harness_home / "leaderboard" / "casme3-7class.md").read_text()
    assert "\u202e" not in board and "\x1b" not in board and len(board) < 20_000
    assert "evil" in board
    assert main(["submissions", "list"]) == 0
    listing = capsys.readouterr().out
    assert "\u202e" not in listing and "\x1b" not in listing and "evil" in listing


# ----- JSON errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["submit", "sanity-majority", "-p", "casme3-7class", "--executor", "foo", "--json"],
    ["submit", "no-such-bundle", "-p", "casme3-7class", "--json"],
    ["submit", "sanity-majority", "--json"],                       # a usage error: -p is required
    ["score", "missing.csv", "-p", "casme3-7class", "--json"],
    ["check", "-e", "missing.yaml", "--json"],
])
def test_under_json_an_error_is_a_json_document_too(corpus, capsys, argv):
    code = main([*argv, "--data-root", str(corpus)] if argv[0] != "check" else argv)
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code == 2 and doc["exit_code"] == 2 and doc["error"]


def test_the_fold_time_limit_is_protocol_data(corpus, harness_home, tmp_path, monkeypatch, capsys):
    import yaml

    from harness.paths import builtin_dir

    data = yaml.safe_load((builtin_dir("protocols") / "ccac2024-dfme.yaml").read_text())
    data["name"] = "ccac-limited"
    data["split"]["phases"]["test_B"]["fold_time_limit_s"] = 2
    (tmp_path / "ccac-limited.yaml").write_text(yaml.safe_dump(data))
    data["name"], data["fold_time_limit_s"] = "ccac-wrong", "soon"
    (tmp_path / "ccac-wrong.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(tmp_path))
    common = ["--data-root", str(corpus), "--quiet", "--set", "pause_s=600"]
    assert main(["submit", str(BUNDLES / "slow"), "-p", "ccac-limited", "--phase", "test_B", *common]) == 1
    assert "time limit of 2 s" in capsys.readouterr().err
    assert main(["submit", str(BUNDLES / "slow"), "-p", "ccac-wrong", "--phase", "test_B", *common]) == 2
    assert "key 'fold_time_limit_s': must be a number, not 'soon'" in capsys.readouterr().err
