"""The results store: one SQLite file (stdlib), safe under concurrent writers and crashes.

Why SQLite: transactions make every write all-or-nothing (a killed run leaves the last committed fold, never a
half-written one), `BEGIN IMMEDIATE` serialises the read-check-insert of phase limits across processes, and the
file needs no server. WAL mode lets leaderboards be rendered while a run writes.

Tables: submissions (one evaluated entry on a board), runs (one seed of a submission), folds (done folds of a
run), predictions (per sample), scores (the pooled report of a submission), metric_scores (one row per metric of
a scored submission: value, 95% interval, std over seeds; whatever metrics its protocol computes), meta (schema
version).

Schema versions: 1 kept UF1, UAR and ACC as columns of `scores`; 2 keeps them (and any other metric) as rows of
`metric_scores`. Opening a store of an older version migrates it in place, in one transaction (all or nothing),
and records the new version; a store of a newer version than this harness is refused, never altered.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from harness.errors import EXIT_CHECK_FAILED, BadInput, HarnessError, LimitReached
from harness.names import check_name


class SubmissionNotRunning(HarnessError):
    """Scores arrived for a submission that is no longer running. Exit 1: the run failed, nothing was recorded."""

    exit_code = EXIT_CHECK_FAILED


SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    protocol TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL,
    system TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,                 -- 'bundle' (harness submit) or 'predictions' (harness score --record)
    identity TEXT,                        -- same code + data + settings -> same identity (resume / reuse)
    status TEXT NOT NULL CHECK (status IN ('running', 'scored', 'failed')),
    host INTEGER NOT NULL DEFAULT 0,      -- organiser's reference run: exempt from phase limits
    created_at TEXT NOT NULL,
    finished_at TEXT,
    seeds TEXT NOT NULL DEFAULT '[]',
    profile TEXT,
    provenance TEXT NOT NULL DEFAULT '{}',
    error TEXT
);
CREATE INDEX IF NOT EXISTS submissions_board ON submissions (protocol, phase, status);
CREATE INDEX IF NOT EXISTS submissions_identity ON submissions (identity);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    wall_s REAL,
    UNIQUE (submission_id, seed)
);
CREATE TABLE IF NOT EXISTS folds (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    fold TEXT NOT NULL,
    wall_s REAL NOT NULL,
    records TEXT NOT NULL DEFAULT '{}',
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, fold)
);
CREATE TABLE IF NOT EXISTS predictions (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    sample_id TEXT NOT NULL,
    fold TEXT NOT NULL,
    prediction INTEGER NOT NULL,
    proba TEXT,
    PRIMARY KEY (run_id, sample_id)
);
CREATE TABLE IF NOT EXISTS scores (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    n_samples INTEGER NOT NULL,
    n_seeds INTEGER NOT NULL,
    detail TEXT NOT NULL                  -- the score report (harness.scoring.report), as JSON
);
CREATE TABLE IF NOT EXISTS metric_scores (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    metric TEXT NOT NULL,
    value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL, std REAL NOT NULL,
    PRIMARY KEY (submission_id, metric)
);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """UF1/UAR/ACC columns of `scores` -> rows of `metric_scores`; `scores` keeps the report only."""
    conn.execute("CREATE TABLE scores_v2 (submission_id INTEGER PRIMARY KEY REFERENCES submissions(id), "
                 "n_samples INTEGER NOT NULL, n_seeds INTEGER NOT NULL, detail TEXT NOT NULL)")
    conn.execute("INSERT INTO scores_v2 SELECT submission_id, n_samples, n_seeds, detail FROM scores")
    for m in ("uf1", "uar", "acc"):
        conn.execute(f"INSERT INTO metric_scores SELECT submission_id, '{m}', {m}, {m}_low, {m}_high, {m}_std "
                     "FROM scores")
    conn.execute("DROP TABLE scores")
    conn.execute("ALTER TABLE scores_v2 RENAME TO scores")


#: version -> the step that brings a store of that version to the next one
MIGRATIONS = {1: _v1_to_v2}


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    protocol: str
    protocol_version: str
    phase: str
    team: str
    system: str
    kind: str
    source: str
    identity: str | None
    status: str
    host: bool
    created_at: str
    finished_at: str | None
    seeds: list[int]
    profile: str | None
    provenance: dict
    error: str | None


class Store:
    """A connection to the results store. Use one per process (SQLite connections are not shared)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=60000")
        try:
            self._migrate()
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- transactions ------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """All-or-nothing block. IMMEDIATE takes the write lock up front, so read-check-write is atomic."""
        for attempt in range(200):
            try:
                self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
                break
            except sqlite3.OperationalError as exc:  # busy beyond busy_timeout under heavy contention
                if "locked" not in str(exc) or attempt == 199:
                    raise
                time.sleep(0.05)
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        """Create a new store, or bring an older one to SCHEMA_VERSION in place, in one transaction."""
        with self.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            has_scores = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='scores'").fetchone() is not None
            version = int(row[0]) if row is not None else (1 if has_scores else SCHEMA_VERSION)
            if version > SCHEMA_VERSION:
                raise BadInput(f"results store {self.path} has schema version {version}, newer than this harness "
                               f"({SCHEMA_VERSION}); upgrade harness or point HARNESS_STORE elsewhere")
            for stmt in SCHEMA.split(";"):  # IF NOT EXISTS: an older store keeps its tables for the migrations
                if stmt.strip():
                    self.conn.execute(stmt)
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](self.conn)
                version += 1
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))

    # ----- submissions -------------------------------------------------------------------------------------
    def _check_limits(self, protocol: str, phase: str, team: str, limits, now: str) -> None:
        if limits is None:
            return
        active = "status IN ('running', 'scored') AND host = 0"
        if limits.per_team_total is not None:
            n = self.conn.execute(
                f"SELECT COUNT(*) FROM submissions WHERE protocol=? AND phase=? AND team=? AND {active}",
                (protocol, phase, team)).fetchone()[0]
            if n >= limits.per_team_total:
                raise LimitReached(f"team {team!r} has used all {limits.per_team_total} submission(s) of "
                                   f"{protocol} {phase} (failed submissions do not count)")
        if limits.per_team_per_day is not None:
            day = now[:10]
            n = self.conn.execute(
                f"SELECT COUNT(*) FROM submissions WHERE protocol=? AND phase=? AND team=? AND {active} "
                "AND substr(created_at, 1, 10) = ?", (protocol, phase, team, day)).fetchone()[0]
            if n >= limits.per_team_per_day:
                raise LimitReached(f"team {team!r} has used its {limits.per_team_per_day} submission(s) of "
                                   f"{protocol} {phase} for {day} (UTC); try again tomorrow")

    def create_submission(self, *, protocol: str, protocol_version: str, phase: str | None, team: str, system: str,
                          kind: str, source: str, identity: str | None, seeds: Sequence[int], profile: str | None,
                          provenance: dict, limits=None, host: bool = False, status: str = "running") -> int:
        """Insert a submission, enforcing the phase limits atomically (two processes can never both take the
        last slot: the count and the insert happen under one write lock)."""
        check_name(team, "team name")
        check_name(system, "system name")
        now = utcnow()
        with self.transaction():
            if not host:
                self._check_limits(protocol, phase or "", team, limits, now)
            cur = self.conn.execute(
                "INSERT INTO submissions (protocol, protocol_version, phase, team, system, kind, source, identity, "
                "status, host, created_at, seeds, profile, provenance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (protocol, protocol_version, phase or "", team, system, kind, source, identity, status, int(host),
                 now, json.dumps(list(seeds)), profile, json.dumps(provenance, default=str)))
            return int(cur.lastrowid)

    def find_by_identity(self, identity: str) -> list[SubmissionRow]:
        rows = self.conn.execute("SELECT * FROM submissions WHERE identity=? ORDER BY id", (identity,)).fetchall()
        return [self._row(r) for r in rows]

    def get_submission(self, submission_id: int) -> SubmissionRow:
        r = self.conn.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
        if r is None:
            raise BadInput(f"no submission {submission_id} in {self.path}")
        return self._row(r)

    def submissions(self, protocol: str | None = None, phase: str | None = None,
                    status: str | None = None) -> list[SubmissionRow]:
        q, args = "SELECT * FROM submissions WHERE 1=1", []
        if protocol is not None:
            q, args = q + " AND protocol=?", args + [protocol]
        if phase is not None:
            q, args = q + " AND phase=?", args + [phase]
        if status is not None:
            q, args = q + " AND status=?", args + [status]
        return [self._row(r) for r in self.conn.execute(q + " ORDER BY id", args).fetchall()]

    def fail_submission(self, submission_id: int, error: str) -> None:
        with self.transaction():
            self._mark_failed(submission_id, error)

    def abandon_submission(self, submission_id: int, reason: str) -> SubmissionRow:
        """Mark a submission that a killed run left `running` as failed, which frees its phase slot (failed
        submissions do not count). Its committed folds stay: the same command reopens and finishes it (the
        limits are checked again then). A run still working on it will not record its scores."""
        with self.transaction():
            sub = self.get_submission(submission_id)
            if sub.status != "running":
                raise BadInput(f"submission {submission_id} is {sub.status}; only a running one can be abandoned")
            self._mark_failed(submission_id, f"abandoned: {reason}")
        return self.get_submission(submission_id)

    def _mark_failed(self, submission_id: int, error: str) -> None:
        now = utcnow()
        self.conn.execute("UPDATE submissions SET status='failed', error=?, finished_at=? WHERE id=?",
                          (error[-4000:], now, submission_id))
        self.conn.execute("UPDATE runs SET status='failed', finished_at=? WHERE submission_id=? AND status='running'",
                          (now, submission_id))

    def reopen_submission(self, submission_id: int, limits=None) -> None:
        """Resume a failed submission (same identity): it takes a slot again, so the limits are re-checked."""
        with self.transaction():
            sub = self.get_submission(submission_id)
            if not sub.host:
                self._check_limits(sub.protocol, sub.phase, sub.team, limits, utcnow())
            self.conn.execute("UPDATE submissions SET status='running', error=NULL, finished_at=NULL WHERE id=?",
                              (submission_id,))
            self.conn.execute("UPDATE runs SET status='running', finished_at=NULL WHERE submission_id=?",
                              (submission_id,))

    def update_provenance(self, submission_id: int, provenance: dict) -> None:
        with self.transaction():
            self.conn.execute("UPDATE submissions SET provenance=? WHERE id=?",
                              (json.dumps(provenance, default=str), submission_id))

    @staticmethod
    def _row(r: sqlite3.Row) -> SubmissionRow:
        return SubmissionRow(
            id=r["id"], protocol=r["protocol"], protocol_version=r["protocol_version"], phase=r["phase"],
            team=r["team"], system=r["system"], kind=r["kind"], source=r["source"], identity=r["identity"],
            status=r["status"], host=bool(r["host"]), created_at=r["created_at"], finished_at=r["finished_at"],
            seeds=json.loads(r["seeds"]), profile=r["profile"], provenance=json.loads(r["provenance"]),
            error=r["error"])

    # ----- runs and folds ----------------------------------------------------------------------------------
    def ensure_run(self, submission_id: int, seed: int) -> int:
        with self.transaction():
            r = self.conn.execute("SELECT id FROM runs WHERE submission_id=? AND seed=?",
                                  (submission_id, seed)).fetchone()
            if r is not None:
                return int(r[0])
            cur = self.conn.execute("INSERT INTO runs (submission_id, seed, status, started_at) VALUES (?,?,?,?)",
                                    (submission_id, seed, "running", utcnow()))
            return int(cur.lastrowid)

    def done_folds(self, run_id: int) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT fold FROM folds WHERE run_id=?", (run_id,))}

    def commit_fold(self, run_id: int, fold: str, sample_ids: Sequence[str], predictions: Sequence[int],
                    proba=None, wall_s: float = 0.0, records: dict | None = None) -> None:
        """Store one fold's predictions in one transaction: after a crash it is there entirely or not at all."""
        rows = [(run_id, sid, fold, int(p), None if proba is None else json.dumps([round(float(x), 6) for x in pr]))
                for sid, p, pr in zip(sample_ids, predictions, proba if proba is not None else [None] * len(sample_ids))]
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM folds WHERE run_id=? AND fold=?", (run_id, fold)).fetchone():
                return  # committed already (a resumed run raced an earlier one): keep the first
            self.conn.executemany("INSERT INTO predictions VALUES (?,?,?,?,?)", rows)
            self.conn.execute("INSERT INTO folds VALUES (?,?,?,?,?)",
                              (run_id, fold, float(wall_s), json.dumps(records or {}, default=str), utcnow()))

    def finish_run(self, run_id: int, wall_s: float) -> None:
        with self.transaction():
            self.conn.execute("UPDATE runs SET status='done', finished_at=?, wall_s=? WHERE id=?",
                              (utcnow(), wall_s, run_id))

    def runs(self, submission_id: int) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM runs WHERE submission_id=? ORDER BY seed",
                                 (submission_id,)).fetchall()

    def fold_records(self, run_id: int) -> dict[str, dict]:
        return {r["fold"]: {"wall_s": r["wall_s"], **json.loads(r["records"])}
                for r in self.conn.execute("SELECT * FROM folds WHERE run_id=? ORDER BY fold", (run_id,))}

    def predictions(self, run_id: int) -> dict[str, tuple[int, list[float] | None]]:
        return {r["sample_id"]: (r["prediction"], json.loads(r["proba"]) if r["proba"] else None)
                for r in self.conn.execute("SELECT sample_id, prediction, proba FROM predictions WHERE run_id=?",
                                           (run_id,))}

    def prediction_folds(self, run_id: int) -> dict[str, str]:
        """sample id -> the fold that predicted it (`harness submissions export`)."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT sample_id, fold FROM predictions WHERE run_id=?",
                                                      (run_id,))}

    # ----- scores ------------------------------------------------------------------------------------------
    def record_scores(self, submission_id: int, report: dict[str, Any], provenance: dict | None = None) -> None:
        """Store a submission's pooled scores and mark it scored, in one transaction.

        Only a running submission is scored: one abandoned while it ran stays failed (it freed its slot)."""
        with self.transaction():
            status = self.get_submission(submission_id).status
            if status != "running":
                raise SubmissionNotRunning(f"submission {submission_id} became {status} while it ran (abandoned?); "
                                           "its scores were not recorded. Run the same command again to finish it")
            self._insert_scores(submission_id, report)
            if provenance is not None:
                self.conn.execute("UPDATE submissions SET provenance=? WHERE id=?",
                                  (json.dumps(provenance, default=str), submission_id))
            self.conn.execute("UPDATE submissions SET status='scored', finished_at=? WHERE id=?",
                              (utcnow(), submission_id))

    def _insert_scores(self, submission_id: int, report: dict[str, Any]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO scores VALUES (?,?,?,?)",
                          (submission_id, report["n_samples"], report["n_seeds"], json.dumps(report, default=str)))
        self.conn.execute("DELETE FROM metric_scores WHERE submission_id=?", (submission_id,))
        self.conn.executemany("INSERT INTO metric_scores VALUES (?,?,?,?,?,?)",
                              [(submission_id, m, v["value"], v["ci"][0], v["ci"][1], v["std"])
                               for m, v in report["metrics"].items()])

    def metric_values(self, submission_id: int) -> dict[str, float]:
        """metric -> value of a scored submission (the long table)."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT metric, value FROM metric_scores WHERE submission_id=? ORDER BY metric", (submission_id,))}

    def scores(self, submission_id: int) -> dict | None:
        r = self.conn.execute("SELECT detail FROM scores WHERE submission_id=?", (submission_id,)).fetchone()
        return json.loads(r[0]) if r else None

    def record_scored_predictions(self, *, submission: dict, sample_ids: Sequence[str], folds: Sequence[str],
                                  predictions: Sequence[int], proba, report: dict, limits=None) -> int:
        """`harness score --record`: limit check, submission, predictions and scores in ONE transaction."""
        check_name(submission["team"], "team name")
        check_name(submission["system"], "system name")
        now = utcnow()
        with self.transaction():
            if not submission.get("host"):
                self._check_limits(submission["protocol"], submission.get("phase") or "", submission["team"],
                                   limits, now)
            cur = self.conn.execute(
                "INSERT INTO submissions (protocol, protocol_version, phase, team, system, kind, source, identity, "
                "status, host, created_at, finished_at, seeds, profile, provenance) "
                "VALUES (?,?,?,?,?,?,'predictions',?,'scored',?,?,?,'[]',NULL,?)",
                (submission["protocol"], submission["protocol_version"], submission.get("phase") or "",
                 submission["team"], submission["system"], submission.get("kind", "system"),
                 submission.get("identity"), int(bool(submission.get("host"))), now, now,
                 json.dumps(submission.get("provenance", {}), default=str)))
            sid = int(cur.lastrowid)
            run = self.conn.execute("INSERT INTO runs (submission_id, seed, status, started_at, finished_at, wall_s) "
                                    "VALUES (?, 0, 'done', ?, ?, 0)", (sid, now, now)).lastrowid
            self.conn.executemany(
                "INSERT INTO predictions VALUES (?,?,?,?,?)",
                [(run, s, f, int(p), None if proba is None else json.dumps([round(float(x), 6) for x in proba[i]]))
                 for i, (s, f, p) in enumerate(zip(sample_ids, folds, predictions))])
            self._insert_scores(sid, report)
            return sid

    def board(self, protocol: str, phase: str | None, version: str | None = None) -> list[tuple[SubmissionRow, dict]]:
        """Scored submissions of one board (of one protocol version, when given) with their score reports."""
        q = ("SELECT s.*, c.detail FROM submissions s JOIN scores c ON c.submission_id = s.id "
             "WHERE s.protocol=? AND s.phase=? AND s.status='scored'")
        args: list[Any] = [protocol, phase or ""]
        if version is not None:
            q, args = q + " AND s.protocol_version=?", args + [version]
        rows = self.conn.execute(q + " ORDER BY s.id", args).fetchall()
        return [(self._row(r), json.loads(r["detail"])) for r in rows]

    def board_versions(self, protocol: str, phase: str | None) -> dict[str, int]:
        """protocol version -> scored submissions of this board under it."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT protocol_version, COUNT(*) FROM submissions WHERE protocol=? AND phase=? AND status='scored' "
            "GROUP BY protocol_version ORDER BY protocol_version", (protocol, phase or ""))}


def open_store(path: Path | str | None = None) -> Store:
    from harness.paths import store_path

    return Store(path or store_path())
