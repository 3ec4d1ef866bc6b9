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

from tests.fixtures.runs import submit
from harness.store.db import open_store
from tests.tiny_corpus import write_tiny_corpus

BUNDLES = Path(__file__).parents[1] / "bundles"
REPO = Path(__file__).resolve().parents[2]


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


def skip_without_private_root(provenance: dict) -> None:
    """Some guarantees need the fold's namespaces (a private root, /proc...); where the kernel or container
    allows none, the run records that instead (and the board marks it): this test then has nothing to check.
    (Namespaces that are available but a private root that fails is a bug: the test then fails.)"""
    facts = [rec["isolation"] for rec in provenance["fold_records"]["0"].values()]
    if any(str(f.get("namespaces", "")).startswith("unavailable") for f in facts):
        pytest.skip("no namespaces here: the fold's private root cannot hold (recorded in the provenance)")


def assert_all_class_zero(submission_id: int) -> None:
    preds = stored_predictions(submission_id)
    assert preds and set(preds.values()) == {0}, {k: v for k, v in preds.items() if v}


def cli_submit(bundle: str, corpus: Path, home: Path, *extra: str) -> tuple[dict, list[int], set[str]]:
    """`harness submit BUNDLE -p casme3-7class --json` in its own process; (provenance, stored predictions,
    table names of the store) of the submission."""
    res = cli("submit", str(BUNDLES / bundle), "-p", "casme3-7class", "--data-root", str(corpus), "--json", *extra,
              home=home)
    assert res.returncode == 0, res.stdout + res.stderr
    sid = json.loads(res.stdout)["submission_id"]
    con = sqlite3.connect(home / "results.sqlite")
    try:
        prov = json.loads(con.execute("SELECT provenance FROM submissions WHERE id=?", (sid,)).fetchone()[0])
        preds = [r[0] for r in con.execute("SELECT prediction FROM predictions p JOIN runs r ON p.run_id = r.id "
                                            "WHERE r.submission_id = ?", (sid,))]
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()
    return prov, preds, names


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
    _, preds, names = cli_submit("attack-forkserver", corpus, tmp_path / "home")
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
        facts = [rec["isolation"] for rec in fold_records(out.submission_id).values()]
        assert all(f["survivors"] == 0 for f in facts)
        if channel == "daemon":  # every fold started one (none could reach another's) and it was killed
            assert all(f["processes_alive_at_result"] >= 1 for f in facts)
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


# ----- cache poisoning ---------------------------------------------------------------------------------------------
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
    prov, preds, _ = cli_submit("attack-proc", corpus, home)
    assert preds and set(preds) == {0}
    skip_without_private_root(prov)
    for fold, rec in prov["fold_records"]["0"].items():
        assert str(corpus) not in json.dumps(rec["found"]) and str(home) not in json.dumps(rec["found"]), fold


# ----- step 3: what the attack surface looks like after the fixes --------------------------------------------------
def test_a_root_fold_can_reach_nothing_outside_itself(corpus, tmp_path):
    import threading

    home = tmp_path / "home"
    sock_path = tmp_path / "privileged.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(sock_path))
    srv.listen(4)
    threading.Thread(target=lambda: [srv.accept() for _ in range(8)], daemon=True).start()
    workbook = next(corpus.rglob("*.xlsx"))
    secrets = [home / ".sample-id-key", home / "cache" / "preprocess" / ".mac-key", home / "results.sqlite"]
    config = {"known_read": [str(workbook), str(corpus), *map(str, secrets)],
              "known_write": [str(home / "cache" / "preprocess" / "x.npz"), str(home / "leaderboard" / "x.md")],
              "known_socket": str(sock_path)}
    sets = [f"--set={k}={json.dumps(v)}" for k, v in config.items()]
    os.environ["SERVICE_TOKEN_CANARY"] = "secret"
    try:
        prov, _, _ = cli_submit("attack-outsider", corpus, home, *sets)
    finally:
        del os.environ["SERVICE_TOKEN_CANARY"]
        srv.close()
    skip_without_private_root(prov)
    assert prov["guarantees_not_held"] == []
    for fold, rec in prov["fold_records"]["0"].items():
        probes = rec["probes"]
        assert probes.pop("labels_before_first_read") == "0"
        worked = {k: v for k, v in probes.items() if v.startswith("ok")}
        assert worked == {}, (fold, worked)
        assert len(probes) >= 20


def test_reading_a_file_leaves_no_mark_a_later_fold_can_see(corpus):
    out = submit(BUNDLES / "attack-atime", "casme3-7class", data_root=corpus)
    assert_all_class_zero(out.submission_id)


def test_what_a_fold_asks_of_the_shared_cache_after_its_labels_carries_nothing(corpus, harness_home):
    out = submit(BUNDLES / "attack-cachechannel", "casme3-7class", data_root=corpus)
    assert_all_class_zero(out.submission_id)
    for rec in fold_records(out.submission_id).values():  # served, but only within the fold's own knowledge
        assert rec["isolation"]["cache"]["computed"] == 0 and rec["isolation"]["cache"]["computed_scoped"] > 0
    shared = harness_home / "cache" / "preprocess"
    assert not [p for p in shared.rglob("*.npz") if "scoped" not in p.relative_to(shared).parts]


def test_a_fold_cannot_forge_what_the_harness_records_or_commits(corpus):
    out = submit(BUNDLES / "attack-forgery", "casme3-7class", data_root=corpus)
    for rec in fold_records(out.submission_id).values():
        assert rec["sandbox"].startswith("landlock ABI") and "forged" not in json.dumps(rec["isolation"])
        assert rec["isolation"]["bundle_records_dropped"] == ["isolation", "sandbox", "wall_s"] and rec["wall_s"] > 0
    from harness.evaluate.submit import FoldFailed

    with pytest.raises(FoldFailed, match="invalid result"):
        submit(BUNDLES / "attack-forgery", "casme3-7class", data_root=corpus, profile="forge-result")
    with open_store() as store:
        forged = store.submissions(status="failed")[-1]
        assert store.runs(forged.id) and not store.predictions(store.runs(forged.id)[0]["id"])
