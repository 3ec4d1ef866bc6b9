"""The results store: schema version, phase limits (atomic across processes, failed ones not counted),
all-or-nothing writes, and a SIGKILL in the middle of a large write transaction."""
from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import BadInput, LimitReached
from harness.paths import store_path
from harness.protocols import get_protocol
from harness.store import db
from harness.store.db import SCHEMA_VERSION, Store, open_store
from tests import formats as F
from tests.procs import start_killable_writer, start_racers, start_store_racers

CCAC = get_protocol("ccac2024-dfme")
LIMIT_A, LIMIT_B = CCAC.phases["test_A"].limits, CCAC.phases["test_B"].limits


def _report(uf1: float = 0.5, n: int = 2) -> dict:
    return {"metrics": {m: {"value": uf1, "ci": [uf1 - 0.1, uf1 + 0.1], "std": 0.0, "per_seed": [uf1]}
                        for m in ("uf1", "uar", "acc")}, "n_samples": n, "n_seeds": 1}


def _record(store: Store, phase: str = "test_B", team: str = "t", limits=LIMIT_B, host: bool = False,
            uf1: float = 0.5) -> int:
    return store.record_scored_predictions(
        submission={"protocol": "ccac2024-dfme", "protocol_version": "1.0", "phase": phase, "team": team,
                    "system": "s", "host": host},
        sample_ids=["a", "b"], folds=[phase, phase], predictions=[0, 1], proba=None, report=_report(uf1),
        limits=limits)


def _create(store: Store, phase: str = "test_B", team: str = "t", limits=LIMIT_B, **kw) -> int:
    return store.create_submission(protocol="ccac2024-dfme", protocol_version="1.0", phase=phase, team=team,
                                   system="s", kind="system", source="bundle", identity=None, seeds=[0],
                                   profile=None, provenance={}, limits=limits, **kw)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "results.sqlite")
    yield s
    s.close()


def _count(path: Path, table: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# ----- schema ----------------------------------------------------------------------------------------------------
def test_schema_version_written_and_newer_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(BadInput, match=f"schema version {SCHEMA_VERSION + 1}, newer than this harness"):
        Store(path)
    Store(tmp_path / "other.sqlite").close()  # a fresh store is fine
    with Store(tmp_path / "other.sqlite") as again:  # and reopening an existing one keeps the version
        assert again.conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 1


def test_open_store_uses_harness_home(harness_home):
    with open_store() as s:
        assert s.path == harness_home / "results.sqlite" == store_path()


# ----- limits ----------------------------------------------------------------------------------------------------
def test_total_limit_and_failed_submissions_do_not_count(store):
    failed = _create(store)
    store.fail_submission(failed, "boom")
    for _ in range(3):
        _record(store)
    with pytest.raises(LimitReached, match="team 't' has used all 3 submission"):
        _record(store)
    with pytest.raises(LimitReached):
        _create(store)
    assert len(store.submissions(phase="test_B", status="scored")) == 3
    assert len(store.submissions(phase="test_B")) == 4  # the refused ones left nothing behind
    _record(store, team="other")  # per team
    _record(store, phase="test_A", limits=LIMIT_A)  # per phase
    _record(store, host=True)  # organiser's reference runs are exempt
    # reopening the failed one would take a fourth slot
    with pytest.raises(LimitReached):
        store.reopen_submission(failed, LIMIT_B)
    assert store.get_submission(failed).status == "failed" and store.get_submission(failed).error == "boom"


def test_running_submissions_count(store):
    for _ in range(3):
        _create(store)
    with pytest.raises(LimitReached):
        _record(store)


def test_abandoning_a_killed_run_frees_its_slot_and_its_scores_are_then_refused(store):
    stuck = [_create(store) for _ in range(3)]  # three runs killed with -9: all `running`, all slots taken
    with pytest.raises(LimitReached):
        _create(store)
    sub = store.abandon_submission(stuck[0], "killed")
    assert sub.status == "failed" and sub.error == "abandoned: killed"
    fresh = _create(store)  # the slot is free again
    with pytest.raises(db.SubmissionNotRunning, match="not recorded"):
        store.record_scores(stuck[0], _report())  # the abandoned run woke up: it must not take the slot back
    assert store.scores(stuck[0]) is None and store.get_submission(stuck[0]).status == "failed"
    with pytest.raises(BadInput, match="only a running one"):
        store.abandon_submission(stuck[0], "again")
    with pytest.raises(LimitReached):  # resuming it needs a free slot like any new submission
        store.reopen_submission(stuck[0], LIMIT_B)
    store.record_scores(fresh, _report())
    assert store.get_submission(fresh).status == "scored"


def test_submissions_cli_lists_and_abandons(harness_home, capsys):
    with open_store() as s:
        sid = _create(s)
        done = _record(s, phase="test_A", limits=LIMIT_A, uf1=0.25)
    assert main(["submissions", "list", "--status", "running", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [sid] and rows[0]["phase"] == "test_B"
    assert main(["submissions", "list"]) == 0
    out = capsys.readouterr().out
    assert "0.2500" in out and "running" in out and "scored" in out
    assert main(["submissions", "abandon", str(sid)]) == 0
    assert "no longer counts" in capsys.readouterr().out
    assert main(["submissions", "abandon", str(done)]) == 2
    assert "only a running one can be abandoned" in capsys.readouterr().err
    assert main(["submissions", "abandon", "999"]) == 2


def test_reopen_failed_when_a_slot_is_free(store):
    sid = _create(store)
    store.fail_submission(sid, "x")
    store.reopen_submission(sid, LIMIT_B)
    assert store.get_submission(sid).status == "running"


def test_daily_limit_is_per_utc_day(store, monkeypatch):
    monkeypatch.setattr(db, "utcnow", lambda: "2024-06-01T23:59:59.999999Z")  # no midnight in between
    first = _record(store, phase="test_A", limits=LIMIT_A)
    with pytest.raises(LimitReached, match="for .* \\(UTC\\); try again tomorrow"):
        _record(store, phase="test_A", limits=LIMIT_A)
    failed = _create(store, phase="test_A", limits=None)
    store.fail_submission(failed, "x")
    store.conn.execute("UPDATE submissions SET created_at=? WHERE id=?", ("2024-05-31T23:59:59.999999Z", first))
    _record(store, phase="test_A", limits=LIMIT_A)  # yesterday's no longer counts today
    monkeypatch.setattr(db, "utcnow", lambda: "2024-06-02T00:00:00.000000Z")
    _record(store, phase="test_A", limits=LIMIT_A)  # and a new UTC day has a new slot
    with pytest.raises(LimitReached):
        _record(store, phase="test_A", limits=LIMIT_A)


def test_record_scored_predictions_is_one_transaction(store):
    sid = _record(store, uf1=0.7)
    sub = store.get_submission(sid)
    assert (sub.status, sub.source, sub.phase, sub.team) == ("scored", "predictions", "test_B", "t")
    assert store.scores(sid)["metrics"]["uf1"]["value"] == 0.7
    (run,) = store.runs(sid)
    assert store.predictions(run["id"]) == {"a": (0, None), "b": (1, None)}
    assert [s.id for s, _ in store.board("ccac2024-dfme", "test_B")] == [sid]
    before = {t: _count(store.path, t) for t in ("submissions", "runs", "predictions", "scores")}
    with pytest.raises(KeyError):  # a report without metrics fails after the inserts: all rolled back
        store.record_scored_predictions(
            submission={"protocol": "ccac2024-dfme", "protocol_version": "1.0", "phase": "test_B", "team": "u",
                        "system": "s"}, sample_ids=["a"], folds=["f"], predictions=[0], proba=None, report={})
    assert {t: _count(store.path, t) for t in before} == before


def test_folds_commit_once(store):
    sid = _create(store, limits=None)
    run = store.ensure_run(sid, 0)
    assert store.ensure_run(sid, 0) == run
    store.commit_fold(run, "f1", ["a", "b"], [1, 2], proba=[[0.5, 0.5], [0.1, 0.9]], wall_s=1.5, records={"x": 1})
    store.commit_fold(run, "f1", ["a", "b"], [0, 0])  # a resumed run racing an earlier one: the first stays
    assert store.done_folds(run) == {"f1"}
    assert store.predictions(run) == {"a": (1, [0.5, 0.5]), "b": (2, [0.1, 0.9])}
    assert store.fold_records(run) == {"f1": {"wall_s": 1.5, "x": 1}}
    store.finish_run(run, 3.0)
    store.record_scores(sid, _report(0.4), provenance={"k": "v"})
    sub = store.get_submission(sid)
    assert sub.status == "scored" and sub.provenance == {"k": "v"} and store.scores(sid)["n_samples"] == 2


def test_unknown_submission(store):
    with pytest.raises(BadInput, match="no submission 99"):
        store.get_submission(99)


# ----- real processes --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dfme_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dfme")
    F.write_dataset(root, "dfme", F.dfme_records({"train": 1, "test_A": 1, "test_B": 1}))
    return root


def _predictions(tmp_path: Path, root: Path, phase: str) -> Path:
    tpl = tmp_path / f"{phase}.csv"
    assert main(["template", "-p", "ccac2024-dfme", "--phase", phase, "--data-root", str(root), "-o", str(tpl)]) == 0
    tpl.write_text(tpl.read_text().replace(",\n", ",disgust\n"))
    return tpl


def _score_argv(path: Path, root: Path, phase: str, team: str, system: str) -> list[str]:
    return ["score", str(path), "-p", "ccac2024-dfme", "--phase", phase, "--data-root", str(root), "--record",
            "--team", team, "--system", system, "--draws", "20"]


@pytest.mark.slow
def test_two_processes_race_for_the_last_test_b_slot(tmp_path, dfme_root, capsys):
    pred = _predictions(tmp_path, dfme_root, "test_B")
    for i in range(2):
        assert main(_score_argv(pred, dfme_root, "test_B", "team", f"warmup{i}")) == 0
    capsys.readouterr()
    results = start_racers(tmp_path / "barrier", [_score_argv(pred, dfme_root, "test_B", "team", f"racer{i}")
                                                  for i in range(2)])
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, _, err in results if rc == 2)
    assert "team 'team' has used all 3 submission(s) of ccac2024-dfme test_B" in loser
    with open_store() as s:
        assert len(s.submissions(protocol="ccac2024-dfme", phase="test_B", status="scored")) == 3


@pytest.mark.slow
def test_four_processes_race_for_the_daily_test_a_slot(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    results = start_store_racers(tmp_path / "barrier", 4, path, "ccac2024-dfme", "test_A", "team",
                                 {"per_team_per_day": 1})
    assert sorted(rc for rc, _, _ in results) == [0, 2, 2, 2], results
    assert all("try again tomorrow" in err for rc, _, err in results if rc == 2)
    with Store(path) as s:
        assert len(s.submissions(phase="test_A")) == 1


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_large_write_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as s:
        keep = _record(s, uf1=0.6)
    proc = start_killable_writer(path, tmp_path / "halfway")
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 1_000_000  # the uncommitted half reached the disk
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(path) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert [x.id for x in s.submissions()] == [keep]
        assert s.conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 2
        assert s.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        assert s.scores(keep)["metrics"]["uf1"]["value"] == 0.6
        _record(s, team="after")  # the write lock was released by the crash
        assert len(s.submissions()) == 2
