"""Real OS processes for the store's concurrency and crash tests (helpers only; no tests in this module).

`start_racers` launches CLI processes that import everything first, then wait at a file barrier, so that they
reach the store at the same moment; `start_killable_writer` starts a process that stops in the middle of a
large write transaction, ready to be killed with SIGKILL.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent

_RACER = r"""
import json, os, sys, time
from pathlib import Path
import harness.cli.main, harness.cli.score, harness.protocols.task, harness.scoring.report
import harness.store.db, harness.leaderboard.render, harness.evaluate.fingerprint, harness.evaluate.provenance
import pandas, numpy, openpyxl, tabulate, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
harness.evaluate.provenance.basic_provenance()
barrier, me, argv = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
(barrier / f"ready-{me}").touch()
deadline = time.time() + 60
while not (barrier / "go").exists() and time.time() < deadline:
    time.sleep(0.001)
sys.exit(harness.cli.main.main(argv))
"""

_STORE_RACER = r"""
import json, sys, time
from pathlib import Path
from harness.errors import LimitReached
from harness.protocols.model import Limits
from harness.store.db import Store
barrier, me, args = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
store = Store(args["store"])
report = {"metrics": {m: {"value": 0.5, "ci": [0.4, 0.6], "std": 0.0} for m in ("uf1", "uar", "acc")},
          "n_samples": 1, "n_seeds": 1}
(barrier / f"ready-{me}").touch()
deadline = time.time() + 60
while not (barrier / "go").exists() and time.time() < deadline:
    time.sleep(0.001)
try:
    store.record_scored_predictions(
        submission={"protocol": args["protocol"], "protocol_version": "1", "phase": args["phase"],
                    "team": args["team"], "system": f"racer{me}"},
        sample_ids=["a"], folds=["f"], predictions=[0], proba=None, report=report, limits=Limits(**args["limits"]))
except LimitReached as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
"""

_WRITER = r"""
import sys, time
from pathlib import Path
from harness.store.db import Store
store_path, marker, n_rows = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
store = Store(store_path)
def rows(run):
    for i in range(n_rows):
        if i == n_rows // 2:
            marker.touch()          # half-way through a large insert, inside the transaction
            time.sleep(120)
        yield (run, f"s{i:07d}", "f", i % 7, None)
with store.transaction():
    sid = store.conn.execute(
        "INSERT INTO submissions (protocol, protocol_version, phase, team, system, kind, source, status, "
        "created_at) VALUES ('p', '1', 'test_B', 'killed', 'sys', 'system', 'bundle', 'running', '2020-01-01')"
    ).lastrowid
    run = store.conn.execute("INSERT INTO runs (submission_id, seed, status, started_at) "
                             "VALUES (?, 0, 'running', '2020-01-01')", (sid,)).lastrowid
    store.conn.executemany("INSERT INTO predictions VALUES (?,?,?,?,?)", rows(run))
"""


def child_env() -> dict[str, str]:
    """The current environment (the test's HARNESS_HOME etc.) with this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _wait_for(paths: Sequence[Path], procs: Sequence[subprocess.Popen], timeout: float) -> None:
    deadline = time.time() + timeout
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise RuntimeError(f"helper process ended early ({proc.returncode}): {err[-2000:]}")
        if time.time() > deadline:
            raise TimeoutError(f"helper processes not ready after {timeout} s")
        time.sleep(0.005)


def start_racers(barrier: Path, argvs: Sequence[list[str]], timeout: float = 120) -> list[tuple[int, str, str]]:
    """Run `harness` with each argv in its own process, released together; returns (rc, stdout, stderr)."""
    return _race(barrier, _RACER, [json.dumps(a) for a in argvs], timeout)


def start_store_racers(barrier: Path, n: int, store: Path, protocol: str, phase: str, team: str, limits: dict,
                       timeout: float = 120) -> list[tuple[int, str, str]]:
    """`n` processes that each try to record one scored submission at the same moment, straight through
    `Store.record_scored_predictions`; exit 0 when recorded, 2 (message on stderr) when the limit refused it."""
    args = json.dumps({"store": str(store), "protocol": protocol, "phase": phase, "team": team, "limits": limits})
    return _race(barrier, _STORE_RACER, [args] * n, timeout)


def _race(barrier: Path, code: str, args: Sequence[str], timeout: float) -> list[tuple[int, str, str]]:
    barrier.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(barrier), str(i), a],
                              env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, a in enumerate(args)]
    try:
        _wait_for([barrier / f"ready-{i}" for i in range(len(args))], procs, timeout)
        (barrier / "go").touch()
        outputs = [p.communicate(timeout=timeout) for p in procs]
        return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def start_killable_writer(store_path: Path, marker: Path, n_rows: int = 200_000,
                          timeout: float = 60) -> subprocess.Popen:
    """Start a process that is half-way through inserting `n_rows` predictions in one transaction when
    `marker` appears; the caller kills it."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(store_path), str(marker), str(n_rows)],
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for([marker], [proc], timeout)
    return proc
