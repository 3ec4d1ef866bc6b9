"""End-to-end tests of `harness submit` on a tiny corpus: folds, scores, boards, limits, resume, isolation."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import LimitReached
from tests.fixtures.runs import submit
from harness.store.db import open_store
from tests.tiny_corpus import write_tiny_corpus

BUNDLES = Path(__file__).parents[1] / "bundles"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny-corpus"))


def test_loso_scores_are_pooled_over_folds_and_reach_the_board(corpus, harness_home):
    out = submit("sanity-majority", "casme3-3class", data_root=corpus, boards=True)
    # Each of 4 subjects: negative x3 (disgust, disgust, fear), positive, surprise; `Others` excluded.
    # Majority = negative in every fold -> pooled F1(neg) = 24/32, the other two 0.
    m = out.report["metrics"]
    assert out.report["n_samples"] == 20 and out.report["n_subjects"] == 4
    assert m["uf1"]["value"] == pytest.approx(0.75 / 3)
    assert m["uar"]["value"] == pytest.approx(1 / 3)
    assert m["acc"]["value"] == pytest.approx(12 / 20)
    board = (harness_home / "leaderboard" / "casme3-3class.md").read_text()
    assert "sanity-majority" in board and "## Published" in board
    with open_store() as store:
        sub = store.get_submission(out.submission_id)
        assert sub.status == "scored"
        assert len(store.fold_records(store.runs(sub.id)[0]["id"])) == 4  # one fold per subject


def test_identical_submission_is_reused_not_recomputed(corpus):
    first = submit("sanity-majority", "casme3-7class", data_root=corpus)
    again = submit("sanity-majority", "casme3-7class", data_root=corpus)
    assert again.status == "reused" and again.submission_id == first.submission_id
    assert again.report == first.report


def test_both_ccac_phases_score_on_their_own_test_sets(corpus):
    a = submit("sanity-majority", "ccac2024-dfme", "test_A", data_root=corpus, team="t")
    b = submit("sanity-majority", "ccac2024-dfme", "test_B", data_root=corpus, team="t")
    assert a.report["n_samples"] == 14 and b.report["n_samples"] == 14  # 2 subjects x 7 classes each
    assert a.report["phase"] == "test_A" and b.report["phase"] == "test_B"


def test_phase_limits_count_scored_not_failed(corpus, capsys):
    common = ["-p", "ccac2024-dfme", "--data-root", str(corpus), "--team", "lim", "--quiet"]
    assert main(["submit", "sanity-majority", "--phase", "test_A", *common]) == 0
    capsys.readouterr()
    assert main(["submit", "sanity-majority", "--phase", "test_A", "--rerun", *common]) == 2  # 1 per day
    assert "try again tomorrow" in capsys.readouterr().err
    # A failing submission does not use one of test_B's three slots.
    assert main(["submit", str(BUNDLES / "slow"), "--phase", "test_B", "--set", "pause_s=oops", *common]) == 1
    for _ in range(3):
        assert main(["submit", "sanity-majority", "--phase", "test_B", "--rerun", *common]) == 0
    assert main(["submit", "sanity-majority", "--phase", "test_B", "--rerun", *common]) == 2
    with pytest.raises(LimitReached):
        submit("sanity-stratified", "ccac2024-dfme", "test_B", data_root=corpus, team="lim")
    # The organiser's reference runs are exempt (and say so in their provenance).
    out = submit("sanity-stratified", "ccac2024-dfme", "test_B", data_root=corpus, team="lim", host=True)
    with open_store() as store:
        assert store.get_submission(out.submission_id).provenance["host_run"] is True


def _cli(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli.main", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _env(home: Path) -> dict:
    env = dict(os.environ, HARNESS_HOME=str(home), HARNESS_LEADERBOARD_DIR=str(home / "lb"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def test_two_processes_racing_for_the_last_slot(corpus, harness_home):
    common = ["-p", "ccac2024-dfme", "--phase", "test_B", "--data-root", str(corpus), "--team", "race", "--quiet"]
    for _ in range(2):
        submit("sanity-majority", "ccac2024-dfme", "test_B", data_root=corpus, team="race", rerun=True)
    procs = [_cli("submit", "sanity-majority", *common, "--rerun", env=_env(harness_home)) for _ in range(2)]
    codes = sorted(p.wait(timeout=180) for p in procs)
    errs = [p.stderr.read() for p in procs]
    assert codes == [0, 2], errs
    assert any("has used all 3 submission(s)" in e for e in errs)
    with open_store() as store:
        assert len(store.submissions("ccac2024-dfme", "test_B", status="scored")) == 3


def test_killed_run_resumes_only_missing_folds_with_identical_scores(corpus, harness_home, tmp_path):
    args = ["submit", str(BUNDLES / "slow"), "-p", "casme3-7class", "--data-root", str(corpus), "--quiet",
            "--set", "pause_s=1.0", "--executor", "serial"]
    proc = _cli(*args, env=_env(harness_home))
    store_file = harness_home / "results.sqlite"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 1:
        time.sleep(0.2)
        if store_file.exists():
            with sqlite3.connect(store_file) as con:
                try:
                    done = con.execute("SELECT COUNT(*) FROM folds").fetchone()[0]
                except sqlite3.OperationalError:
                    pass
    assert done >= 1, proc.stderr.read() if proc.poll() is not None else "no fold finished in time"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(store_file) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status, = con.execute("SELECT status FROM submissions").fetchone()
        folds_before = con.execute("SELECT COUNT(*) FROM folds").fetchone()[0]
        preds_before = con.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert status == "running" and 1 <= folds_before < 4
    assert preds_before == 6 * folds_before  # whole folds only (6 samples per subject in 7-class)

    resumed = _cli(*args, "--json", env=_env(harness_home))
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    result = json.loads(out)
    reference_home = tmp_path / "reference-home"
    reference_home.mkdir()
    ref = _cli(*args, "--json", env=_env(reference_home))
    ref_out, ref_err = ref.communicate(timeout=180)
    assert ref.returncode == 0, ref_err
    reference = json.loads(ref_out)
    assert result["report"]["metrics"] == reference["report"]["metrics"]
    assert result["report"]["confusion"] == reference["report"]["confusion"]
    with open_store() as store:
        sub = store.get_submission(result["submission_id"])
        assert sub.status == "scored" and result["submission_id"] == 1
        assert len(store.fold_records(store.runs(sub.id)[0]["id"])) == 4


def test_hostile_bundle_finds_no_labels(corpus):
    for protocol, phase in (("casme3-7class", None), ("ccac2024-dfme", "test_A")):
        out = submit(BUNDLES / "hostile", protocol, phase, data_root=corpus, team="red")
        with open_store() as store:
            records = store.get_submission(out.submission_id).provenance["fold_records"]["0"]
        found = {fold: rec["found"] for fold, rec in records.items() if rec["n_found"]}
        assert found == {}, found
        majority_zero = submit(BUNDLES / "broken", protocol, phase, data_root=corpus, host=True)
        assert out.report["metrics"] == majority_zero.report["metrics"]  # it had nothing to cheat with


def test_the_hunt_does_find_labels_when_they_are_reachable(corpus):
    """Positive control: the hostile bundle's search is capable; in a leaky process it finds and uses labels."""
    import pandas as pd

    from harness.api import Context, LabelledSample, TestSet
    from harness.bundles.loader import instantiate
    from harness.bundles.manifest import load_bundle

    leaked = pd.DataFrame({"uid": ["x1"], "label": ["anger"], "emotion": ["anger"]})  # noqa: F841 (held in gc)
    test_sample = LabelledSample("x1", "dfme", "sub", 200.0, 0, 1, 2, (0,), str(corpus), ("a.jpg",), "k",
                                 label="fear", label_index=3)
    ctx = Context(("anger", "contempt", "disgust", "fear"), "p", None, "f", 0, "cpu", "quick", {}, corpus, corpus)
    hostile = instantiate(load_bundle(BUNDLES / "hostile"), {})
    labels = hostile.predict(TestSet([test_sample], ctx.classes), ctx)
    assert ctx.records["n_found"] > 0 and labels == [3]


def test_same_seed_same_predictions(corpus):
    a = submit(BUNDLES / "slow", "casme3-7class", data_root=corpus, seeds=[3])
    b = submit(BUNDLES / "slow", "casme3-7class", data_root=corpus, seeds=[3], rerun=True, executor="local",
               workers=2)
    assert a.submission_id != b.submission_id
    with open_store() as store:
        preds = [store.predictions(store.runs(s)[0]["id"]) for s in (a.submission_id, b.submission_id)]
    assert preds[0] == preds[1]


def test_provenance_is_complete(corpus):
    out = submit("sanity-stratified", "casme3-3class", data_root=corpus, seeds=[0, 1])
    with open_store() as store:
        prov = store.get_submission(out.submission_id).provenance
    for key in ("harness_version", "harness_code", "git", "packages", "device", "seeds", "profile", "config",
                "data_fingerprint", "wall_s", "bundle", "protocol", "fold_records"):
        assert key in prov, key
    assert prov["seeds"] == [0, 1] and prov["device"] == "cpu" and prov["protocol"]["version"] == "1.0"
    assert len(prov["bundle"]["code_hash"]) == 64 and prov["packages"]["numpy"]
    assert out.report["n_seeds"] == 2 and len(out.report["metrics"]["uf1"]["per_seed"]) == 2


_GOOD = "name: x\nteam: t\nkind: system\nentry_point: model:X\ndescription: d\nprofiles: {quick: {}}\n"


@pytest.mark.parametrize("manifest, key, message", [
    (_GOOD.replace("entry_point: model:X\n", ""), "entry_point", "missing field"),
    (_GOOD.replace("kind: system", "kind: wizard"), "kind", "must be one of baseline, system, sanity, not 'wizard'"),
    (_GOOD.replace("model:X", "nomodule:X"), "entry_point", "module 'nomodule' not found in"),
    (_GOOD.replace("model:X", "model.X"), "entry_point", "'model.X' must look like module:Name"),
    (_GOOD.replace("{quick: {}}", "[quick]"), "profiles", "must be a mapping, not ['quick']"),
    (_GOOD.replace("{quick: {}}", "{quick: [C]}"), "profiles.quick", "must be a mapping, not ['C']"),
    (_GOOD + "default_profile: paper\n", "default_profile", "'paper' is not among the profiles (quick)"),
    (_GOOD + "neural: yes please\n", "neural", "must be true or false, not 'yes please'"),
    (_GOOD.replace("team: t", "team: ' t'"), "team", "has leading or trailing spaces"),
])
def test_malformed_bundle_names_the_file_the_field_and_what_is_wrong(tmp_path, corpus, capsys, manifest, key,
                                                                       message):
    (tmp_path / "bundle.yaml").write_text(manifest)
    (tmp_path / "model.py").write_text("class X:\n    pass\n")
    assert main(["submit", str(tmp_path), "-p", "casme3-3class", "--data-root", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert f"bundle {tmp_path} is malformed: 1 problem(s)" in err
    line = next((x for x in err.splitlines() if x.strip().startswith(f"- {tmp_path / 'bundle.yaml'}, key {key!r}: ")),
                None)
    assert line is not None and message in line, err


def test_check_passes_on_expectations_and_fails_on_a_broken_bundle(corpus, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(f"version: 1\nprofile: quick\nseeds: [0]\ndata_root: {corpus}\ntolerance: 0.001\nchecks:\n"
                    "  - {bundle: sanity-majority, protocol: casme3-3class, expect: {uf1: {min: 0.25, max: 0.25}}}\n")
    assert main(["check", "-e", str(good), "--executor", "serial"]) == 0
    out = capsys.readouterr()
    assert "all 1 check(s) passed" in out.out
    assert "check 1/1: sanity-majority on casme3-3class: ok" in out.err  # progress for CI logs
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"version: 1\nseeds: [0]\ndata_root: {corpus}\nchecks:\n"
                   f"  - {{bundle: {BUNDLES / 'broken'}, protocol: casme3-3class, expect: {{uar: {{min: 0.5}}}}}}\n")
    assert main(["check", "-e", str(bad), "--executor", "serial"]) == 1
    out = capsys.readouterr()
    assert "REGRESSED" in out.out and "check 1/1: " in out.err and "REGRESSED" in out.err


def test_test_view_carries_no_labels_and_hides_keyframes_when_told(corpus):
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.runner.opaque import opaque_ids
    from harness.runner.staging import stage_table
    from harness.runner.views import test_set

    task = build_task(get_protocol("casme3-7class"), corpus)
    staged = stage_table(task.table, opaque_ids(task.table["uid"]), corpus.parent / "stage-view-test")
    fold = task.folds()[0]
    view = test_set(task.table, fold.test, staged, task.protocol.classes, keyframes=False)
    uids = set(task.table["uid"])
    for s in view:
        assert not any(hasattr(s, a) for a in ("label", "label_index", "emotion", "aus"))
        assert s.onset is None and s.apex is None
        assert s.sample_id not in uids and Path(s.frames_dir).name == s.sample_id  # opaque, folder too
        assert not Path(s.frames_dir).resolve().is_relative_to(corpus.resolve())
        for name in s.frame_files:  # copies: no inode, timestamp or path shared with the release's files
            staged_file = Path(s.frames_dir, name)
            assert not staged_file.is_symlink() and staged_file.stat().st_nlink == 1
        assert s.frames().shape[0] == len(s.frame_indices)
    assert [s.sample_id for s in view] == [s.sample_id for s in sorted(view, key=lambda s: (s.cache_key,
                                                                                               s.sample_id))]


def test_inner_split_is_subject_disjoint(corpus):
    from harness.api import Context
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.runner.inner import inner_split
    from harness.runner.opaque import opaque_ids
    from harness.runner.staging import stage_table
    from harness.runner.views import train_set

    task = build_task(get_protocol("casme3-7class"), corpus)
    staged = stage_table(task.table, opaque_ids(task.table["uid"]), corpus.parent / "stage-inner-test")
    train = train_set(task.table, range(len(task.table)), staged, task.protocol.classes)
    ctx = Context(task.protocol.classes, "p", None, "f", 0, "cpu", "quick", {}, corpus, corpus,
                  inner_splitter=inner_split)
    fit_part, val_part = ctx.inner_split(train, 0.25)
    assert set(fit_part.subjects).isdisjoint(set(val_part.subjects))
    assert len(fit_part) + len(val_part) == len(train) and len(val_part) > 0


def test_run_all_runs_every_chosen_bundle_and_writes_boards(corpus, harness_home, capsys):
    code = main(["run-all", "--data-root", str(corpus), "--bundle", "sanity-majority", "--bundle",
                 "sanity-stratified", "--protocol", "casme3-3class", "--protocol", "ccac2024-dfme", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "6 runs, 0 failed" in out
    lb = harness_home / "leaderboard"
    for name in ("casme3-3class.md", "ccac2024-dfme-test_A.md", "ccac2024-dfme-test_B.md"):
        text = (lb / name).read_text()
        assert "sanity-majority" in text and "sanity-stratified" in text


def test_ray_tasks_ask_for_a_gpu_on_cuda_and_ray_flags_need_ray():
    from harness.errors import BadInput
    from harness.evaluate.request import executor_options_for

    assert executor_options_for("ray", "cuda", None) == {"gpus_per_fold": 1.0}
    assert executor_options_for("ray", "cuda", {"gpus_per_fold": 0.25}) == {"gpus_per_fold": 0.25}
    assert executor_options_for("ray", "cpu", {"address": "auto"}) == {"address": "auto"}
    assert executor_options_for("local", "cuda", None) == {}
    with pytest.raises(BadInput, match="--ray-address applies to --executor ray only"):
        executor_options_for("local", "cpu", {"address": "auto"})
    with pytest.raises(BadInput, match="--gpus-per-fold"):
        executor_options_for("serial", "cuda", {"gpus_per_fold": 1.0})


@pytest.mark.slow
def test_local_and_ray_executors_give_the_same_scores_as_serial(corpus, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("HARNESS_STAGING_DIR", str(tmp_path / "staging"))
    serial = submit(BUNDLES / "slow", "casme3-7class", data_root=corpus, seeds=[0, 1])
    local = submit(BUNDLES / "slow", "casme3-7class", data_root=corpus, seeds=[0, 1], executor="local", workers=2,
                   rerun=True)
    ray_out = submit(BUNDLES / "slow", "casme3-7class", data_root=corpus, seeds=[0, 1], executor="ray", workers=2,
                     rerun=True)
    assert serial.report["metrics"] == local.report["metrics"] == ray_out.report["metrics"]
    assert serial.report["confusion"] == ray_out.report["confusion"]
    # A local Ray writes inside the run's own folder only (removed with the run).
    assert not list((tmp_path / "staging").glob("*/ray"))


def test_fold_batched_training_matches_fold_by_fold(corpus):
    """All LOSO folds as one stacked model give the fold-by-fold predictions (probabilities within 1e-4)."""
    from harness.errors import BadInput

    one_by_one = submit(BUNDLES / "tiny-mlp", "casme3-7class", data_root=corpus, seeds=[0], device="cpu")
    with pytest.raises(BadInput, match="reviewed bundles only"):  # one process sees every label: not by default
        submit(BUNDLES / "tiny-mlp", "casme3-7class", data_root=corpus, seeds=[0], device="cpu", fold_batched=True)
    batched = submit(BUNDLES / "tiny-mlp", "casme3-7class", data_root=corpus, seeds=[0], device="cpu",
                     fold_batched=True, trust_bundle=True)
    assert batched.submission_id != one_by_one.submission_id
    with open_store() as store:
        a, b = (store.predictions(store.runs(o.submission_id)[0]["id"]) for o in (one_by_one, batched))
        prov = store.get_submission(batched.submission_id).provenance
    assert a.keys() == b.keys() and len(a) == 24
    assert all(a[k][0] == b[k][0] for k in a)
    assert max(abs(x - y) for k in a for x, y in zip(a[k][1], b[k][1])) < 1e-4
    assert prov["fold_batched"] is True and "fold-batched" in prov["isolation"] and prov["trust"] == "--trust-bundle"
    assert all(rec["fold_batched"] is True for rec in prov["fold_records"]["0"].values())
    assert any("fold-batched" in g for g in prov["guarantees_not_held"])
    assert any("--trust-bundle" in g for g in prov["guarantees_not_held"])
    with pytest.raises(BadInput, match="LOSO"):
        submit(BUNDLES / "tiny-mlp", "ccac2024-dfme", "test_A", data_root=corpus, fold_batched=True,
               trust_bundle=True)


def test_fold_sandbox_blocks_known_paths_and_cross_fold_files(corpus, tmp_path):
    """Even a bundle that knows where the annotation workbook is cannot open it, nor leave labels in a file."""
    from harness.runner.sandbox import abi_version

    if abi_version() <= 0:
        pytest.skip("Landlock is not available on this kernel")
    workbook = next(corpus.rglob("*.xlsx"))
    stash = tmp_path / "stash.txt"
    overrides = {"read": str(workbook), "stash": str(stash)}
    out = submit(BUNDLES / "prober", "casme3-7class", data_root=corpus, overrides=overrides)
    with open_store() as store:
        records = store.get_submission(out.submission_id).provenance["fold_records"]["0"]
    for rec in records.values():
        assert rec["sandbox"].startswith("landlock")
        assert str(rec["probe"]["read"]).startswith("blocked") and str(rec["probe"]["stash"]).startswith("blocked")
        assert rec["probe"]["frames"] > 0
    assert not stash.exists()
    # Positive control: without the sandbox the same probes succeed, so the test above can fail.
    out = submit(BUNDLES / "prober", "casme3-7class", data_root=corpus, overrides=overrides, sandbox=False)
    with open_store() as store:
        records = store.get_submission(out.submission_id).provenance["fold_records"]["0"]
    assert all(r["probe"]["read"] is True and r["probe"]["stash"] is True for r in records.values())
    assert stash.exists()


def test_folds_use_the_harness_that_is_actually_imported(corpus, tmp_path):
    """A checkout put on sys.path by a script, beside the installed package: folds import (and are allowed to
    read) the checkout's harness, not whatever a fresh interpreter would find."""
    import shutil

    copy = tmp_path / "checkout"
    for part in ("harness", "protocols"):
        shutil.copytree(REPO / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    script = (f"import sys; sys.path.insert(0, {str(copy)!r})\n"
              "from harness.cli.main import main\n"
              f"sys.exit(main(['submit', {str(BUNDLES / 'late-import')!r}, '-p', 'casme3-7class', '--data-root', "
              f"{str(corpus)!r}, '--json']))\n")
    env = dict(os.environ, HARNESS_HOME=str(home), HARNESS_LEADERBOARD_DIR=str(home / "lb"))
    res = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    sid = json.loads(res.stdout)["submission_id"]
    con = sqlite3.connect(home / "results.sqlite")
    prov = json.loads(con.execute("SELECT provenance FROM submissions WHERE id=?", (sid,)).fetchone()[0])
    con.close()
    files = {rec["kit_file"] for rec in prov["fold_records"]["0"].values()}
    assert files == {str(copy / "harness" / "kit" / "svm.py")}


def test_check_reports_the_cause_of_a_failing_fold(corpus, tmp_path, capsys):
    spec = tmp_path / "e.yaml"
    spec.write_text(f"version: 1\nseeds: [0]\ndata_root: {corpus}\nchecks:\n"
                    f"  - {{bundle: {BUNDLES / 'raiser'}, protocol: casme3-7class, expect: {{uf1: {{min: 0.1}}}}}}\n")
    assert main(["check", "-e", str(spec), "--executor", "serial"]) == 1
    out = capsys.readouterr()
    assert "ValueError: no usable training clip: every one was shorter than 3 frames" in out.out
    assert main(["check", "-e", str(spec), "--executor", "serial", "--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert "ValueError: no usable training clip" in row["error"]


def test_folds_share_the_cores_that_the_run_can_use(corpus, monkeypatch):
    """--workers N splits the cores N ways only when N folds can run at once: a phase protocol's single fold
    (and one --fold-batched model) gets every core instead of leaving the others idle."""
    from harness.runner.executors import make_executor

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    local = make_executor("local", 2)
    assert [local.threads_per_fold(n) for n in (None, 1, 2, 94)] == [2, 4, 2, 2]
    assert make_executor("serial").threads_per_fold(94) == 4
    phase = submit("sanity-majority", "ccac2024-dfme", "test_A", data_root=corpus, team="threads",
                   executor="local", workers=2, rerun=True)
    loso = submit("sanity-majority", "casme3-7class", data_root=corpus, team="threads", executor="local", workers=2,
                  rerun=True)
    with open_store() as store:
        threads = [store.get_submission(o.submission_id).provenance["threads_per_fold"] for o in (phase, loso)]
    assert threads == [4, 2]  # one fold: all four cores; four folds two at a time: two each
