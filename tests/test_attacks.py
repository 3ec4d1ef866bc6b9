"""A cheating participant's bundles (tests/bundles/attack-*) against `harness submit`.

Each attacker predicts the label it stole where it found one and class 0 otherwise, so "nothing leaked" is
checked exactly: every stored prediction is 0. Each test also checks that nothing the bundle did reached the
results store, the leaderboard folder, the preprocessing cache other runs read, or a later fold.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner.run import submit
from harness.store.db import open_store
from tests.tiny_corpus import write_tiny_corpus

BUNDLES = Path(__file__).parent / "bundles"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("attack-corpus"), casme3_subjects=3)


# ----- helpers ---------------------------------------------------------------------------------------------------
def stored_predictions(submission_id: int) -> dict[str, int]:
    with open_store() as store:
        return {k: v[0] for k, v in store.predictions(store.runs(submission_id)[0]["id"]).items()}


def fold_records(submission_id: int) -> dict[str, dict]:
    with open_store() as store:
        return store.get_submission(submission_id).provenance["fold_records"]["0"]


def tables(home: Path) -> set[str]:
    con = sqlite3.connect(home / "results.sqlite")
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


def listing(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `folder` (empty when it does not exist)."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_all_class_zero(submission_id: int) -> None:
    preds = stored_predictions(submission_id)
    assert preds and set(preds.values()) == {0}, {k: v for k, v in preds.items() if v}


def cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HARNESS_HOME=str(home), HARNESS_LEADERBOARD_DIR=str(home / "leaderboard"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


# ----- code execution in the harness process ----------------------------------------------------------------------
def test_a_progress_report_cannot_run_code_in_the_harness(corpus, harness_home):
    for protocol, phase in (("casme3-7class", None), ("ccac2024-dfme", "test_A")):
        out = submit(BUNDLES / "attack-pickle", protocol, phase, data_root=corpus)
        assert_all_class_zero(out.submission_id)
        assert "pwned" not in tables(harness_home)
        assert not (harness_home / "leaderboard" / "pwned.md").exists()


# ----- out through a process with more rights -------------------------------------------------------------------
def test_a_fold_cannot_make_a_fork_server_run_its_code(corpus, tmp_path):
    home = tmp_path / "home"
    res = cli("submit", str(BUNDLES / "attack-forkserver"), "-p", "casme3-7class", "--data-root", str(corpus),
              "--json", home=home)
    assert res.returncode == 0, res.stderr
    sid = json.loads(res.stdout)["submission_id"]
    con = sqlite3.connect(home / "results.sqlite")
    try:
        preds = [r[0] for r in con.execute("SELECT prediction FROM predictions p JOIN runs r ON p.run_id = r.id "
                                            "WHERE r.submission_id = ?", (sid,))]
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()
    assert preds and set(preds) == {0}
    assert "pwned" not in names


# ----- across folds -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["cache", "shm", "daemon"])
def test_labels_do_not_travel_from_one_fold_to_another(corpus, harness_home, channel):
    shm = Path("/dev/shm/harness-attack-stash.json")
    cache_before = listing(harness_home / "cache")
    try:
        out = submit(BUNDLES / "attack-crossfold", "casme3-7class", data_root=corpus, profile=channel)
        assert_all_class_zero(out.submission_id)
        assert not shm.exists()
        assert not (harness_home / "cache" / "attack-stash.json").exists()
        assert set(listing(harness_home / "cache")) - set(cache_before) <= _trusted_entries(harness_home)
        s = socket.socket(socket.AF_UNIX)
        with pytest.raises(OSError):  # the daemon died with its fold
            s.connect("\0harness-attack-crossfold")
        s.close()
    finally:
        _stop_daemon()
        shm.unlink(missing_ok=True)


def _trusted_entries(home: Path) -> set[str]:
    """Cache files the harness itself writes: staged frames (copies under frames/) and the cache's key; this
    bundle preprocesses nothing, so there are no entries."""
    return {p for p in listing(home / "cache") if p.startswith(("frames/", "preprocess/.mac-key"))}


def _stop_daemon() -> None:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect("\0harness-attack-crossfold")
        s.sendall(b'{"quit": true}\n')
        s.recv(1 << 16)
    except OSError:
        pass
    finally:
        s.close()


# ----- cache poisoning --------------------------------------------------------------------------------------------------
def test_one_team_cannot_poison_what_another_reads(corpus, harness_home):
    honest = submit(BUNDLES / "cache-reader", "casme3-7class", data_root=corpus, team="blue")
    before = stored_predictions(honest.submission_id)
    entries = listing(harness_home / "cache" / "preprocess")
    assert any(k.startswith("landmarks/") for k in entries)  # the honest run filled the shared cache
    attack = submit(BUNDLES / "attack-poison", "casme3-7class", data_root=corpus, team="red")
    assert listing(harness_home / "cache" / "preprocess") == entries  # nothing rewritten
    again = submit(BUNDLES / "cache-reader", "casme3-7class", data_root=corpus, team="blue", rerun=True)
    assert stored_predictions(again.submission_id) == before
    assert fold_records(attack.submission_id)  # the attack ran


# ----- names and order ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def megc_root(tmp_path_factory) -> Path:
    from tests import formats as F

    return F.write_small_root(tmp_path_factory.mktemp("megc"), ("casme2", "samm", "smic"))


def test_ids_folders_and_order_carry_no_label(megc_root):
    out = submit(BUNDLES / "attack-ids", "megc2019-composite", data_root=megc_root)
    assert_all_class_zero(out.submission_id)
    uids = set(stored_predictions(out.submission_id))
    for fold, rec in fold_records(out.submission_id).items():
        seen = rec["seen"]
        assert rec["leaked"] == 0, (fold, seen)
        for sample_id, folder, _ in seen:
            assert folder == sample_id and sample_id not in uids and not any(u in sample_id for u in uids)
        assert seen == sorted(seen, key=lambda s: (s[2], s[0]))  # content key, then opaque id: nothing else


# ----- the harness's own output --------------------------------------------------------------------------------------
def test_a_bundle_cannot_forge_the_harness_output(corpus, tmp_path):
    home = tmp_path / "home"
    res = cli("submit", str(BUNDLES / "attack-stdout"), "-p", "casme3-7class", "--data-root", str(corpus),
              "--json", home=home)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # exactly one document: json.loads refuses anything after it
    assert doc["status"] == "scored" and doc["report"]["metrics"]["uf1"]["value"] < 1.0
    assert "FORGED" not in res.stderr and "\x1b" not in res.stderr


# ----- paths through /proc ----------------------------------------------------------------------------------------
def test_a_fold_cannot_learn_where_the_data_and_the_store_are(corpus, tmp_path):
    home = tmp_path / "home"
    res = cli("submit", str(BUNDLES / "attack-proc"), "-p", "casme3-7class", "--data-root", str(corpus),
              "--json", home=home)
    assert res.returncode == 0, res.stderr
    sid = json.loads(res.stdout)["submission_id"]
    con = sqlite3.connect(home / "results.sqlite")
    try:
        prov = json.loads(con.execute("SELECT provenance FROM submissions WHERE id=?", (sid,)).fetchone()[0])
        preds = [r[0] for r in con.execute("SELECT prediction FROM predictions")]
    finally:
        con.close()
    assert preds and set(preds) == {0}
    for fold, rec in prov["fold_records"]["0"].items():
        assert str(corpus) not in json.dumps(rec["found"]) and str(home) not in json.dumps(rec["found"]), fold
