"""A store written by the previous schema (version 1: UF1/UAR/ACC as columns of `scores`; the fixture was
written by that code) is migrated in place, atomically, to version 2 (one row per metric), losing nothing."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.store import db

V1 = Path(__file__).resolve().parents[2] / "fixtures" / "store-v1.sqlite"


def _copy(tmp_path) -> Path:
    path = tmp_path / "results.sqlite"
    shutil.copy(V1, path)
    return path


def test_a_version_1_store_is_migrated_in_place_and_keeps_every_score(tmp_path):
    path = _copy(tmp_path)
    with sqlite3.connect(path) as con:
        before = {r[0]: r[1:] for r in con.execute("SELECT submission_id, uf1, uf1_low, uf1_high, uf1_std, uar, acc, "
                                                   "detail FROM scores")}
        predictions = con.execute("SELECT * FROM predictions ORDER BY run_id, sample_id").fetchall()
    with db.open_store(path) as store:
        assert store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"
        for sid, (uf1, low, high, std, uar, acc, _detail) in before.items():
            rows = {r["metric"]: r for r in store.conn.execute("SELECT * FROM metric_scores WHERE submission_id=?",
                                                                  (sid,))}
            assert (rows["uf1"]["value"], rows["uf1"]["low"], rows["uf1"]["high"], rows["uf1"]["std"]) == \
                (uf1, low, high, std)
            assert rows["uar"]["value"] == uar and rows["acc"]["value"] == acc
            assert store.scores(sid) is not None and store.metric_values(sid) == {"acc": acc, "uar": uar,
                                                                                  "uf1": uf1}
        assert [tuple(r) for r in store.conn.execute("SELECT * FROM predictions ORDER BY run_id, sample_id")] == \
            [tuple(r) for r in predictions]
        columns = [r[1] for r in store.conn.execute("PRAGMA table_info(scores)")]
        assert columns == ["submission_id", "n_samples", "n_seeds", "detail"]
        assert len(store.board("casme3-3class", None)) == 1
    with db.open_store(path) as store:  # opening a migrated store again changes nothing
        assert store.conn.execute("SELECT COUNT(*) FROM metric_scores").fetchone()[0] == 3 * len(before)


def test_a_failed_migration_leaves_the_version_1_store_as_it_was(tmp_path, monkeypatch):
    path = _copy(tmp_path)
    before = _dump(path)

    def broken(conn):
        db._v1_to_v2(conn)
        raise RuntimeError("disk trouble half-way")

    monkeypatch.setitem(db.MIGRATIONS, 1, broken)
    with pytest.raises(RuntimeError, match="half-way"):
        db.open_store(path)
    assert _dump(path) == before  # not a table, row or index changed
    monkeypatch.undo()
    with db.open_store(path) as store:  # and the next open migrates it
        assert store.metric_values(1)["uf1"] == pytest.approx(2 / 3)


def test_a_store_of_a_newer_schema_is_refused_not_altered(tmp_path):
    from harness.errors import BadInput

    path = _copy(tmp_path)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    before = _dump(path)
    with pytest.raises(BadInput, match="schema version 99, newer than this harness"):
        db.open_store(path)
    assert _dump(path) == before


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        return list(con.iterdump())
