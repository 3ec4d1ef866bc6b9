"""The synthetic corpus as the real adapters, protocols and `harness data check` see it: layouts, counts, labels,
splits. One tiny corpus of every dataset (3 subjects, 64 px) serves the whole module."""
from __future__ import annotations

import json

import pytest

from harness.synth.specs import get_spec, synthetic_keys

SPECS = {k: get_spec(k) for k in synthetic_keys()}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from harness.cli.main import main

    root = tmp_path_factory.mktemp("synth-all")
    rc = main(["data", "synth", "--like", "all", "--out", str(root), "--subjects", "3", "--size", "64",
               "--set", "samples_per_subject=4", "--seed", "3", "--quiet", "--workers", "1"])
    assert rc == 0
    return root


@pytest.fixture(scope="module")
def manifest(corpus):
    return json.loads((corpus / "_truth" / "corpus.json").read_text())


def test_data_check_passes(corpus, capsys):
    from harness.cli.main import main

    assert main(["data", "check", "--data-root", str(corpus)]) == 0
    out = capsys.readouterr().out
    for key in SPECS:
        assert f"{key}: " in out and "ok" in out


@pytest.mark.parametrize("key", sorted(SPECS))
def test_adapters_read_back_the_planned_counts_and_labels(corpus, manifest, key):
    from harness.datasets import load_dataset
    from harness.datasets.base import normalise_label

    result = load_dataset(corpus, key)
    assert not [p for p in result.problems if p.severity == "error"]
    table = result.table
    info = manifest["datasets"][key]
    assert len(table) == info["samples"]
    assert table["subject"].nunique() == info["subjects"] == 3
    written = {lab for split in info["splits"].values() for lab in split["labels"]}
    assert set(table["emotion_raw"]) == written
    vocabulary = {normalise_label(lab) for split in SPECS[key].splits for lab in split.labels}
    assert set(table["emotion"]) <= vocabulary
    for split, part in table.groupby("split"):
        assert len(part) == info["splits"][split]["samples"]


def test_dfme_has_three_subject_disjoint_splits_with_one_frame_rate_per_subject(corpus):
    from openpyxl import load_workbook

    from harness.datasets import load_dataset
    from harness.datasets.adapters.dfme import COLUMNS

    t = load_dataset(corpus, "dfme").table
    subjects = {s: set(part["subject"]) for s, part in t.groupby("split")}
    assert set(subjects) == {"train", "test_A", "test_B"}
    assert not (subjects["train"] & subjects["test_A"]) and not (subjects["train"] & subjects["test_B"])
    assert not (subjects["test_A"] & subjects["test_B"])
    assert (t.groupby("subject")["fps"].nunique() == 1).all()
    assert set(t["fps"]) <= {200.0, 300.0, 500.0}
    assert t["subject"].str.fullmatch(r"sub\d{4}").all()
    assert t["sample_id"].str.fullmatch(r"sub\d{4}_\d{2}").all()
    for name in ("training_full_with_AU.xlsx", "testA_full_with_AU.xlsx", "testB_full_with_AU.xlsx"):
        ws = load_workbook(corpus / "dfme" / name, read_only=True).worksheets[0]
        assert [c for c in next(ws.iter_rows(values_only=True))] == COLUMNS


def test_casme3_clips_hold_several_mes_and_both_cases_of_others(corpus):
    from harness.datasets import load_dataset

    t = load_dataset(corpus, "casme3").table
    per_clip = t.groupby(["subject", "clip"]).size()
    assert per_clip.max() > 1
    assert {"others", "Others"} <= set(t["emotion_raw"])
    assert t["subject"].str.fullmatch(r"spNO\.\d+").all()
    assert t["clip"].str.fullmatch(r"[a-mJ]").all()  # clip j is written J, as in the release
    assert (t["fps"] == 30).all()


def test_release_naming_of_casme2_samm_smic(corpus):
    from openpyxl import load_workbook

    from harness.datasets import load_dataset

    c2 = load_dataset(corpus, "casme2").table
    assert c2["sample_id"].str.fullmatch(r"sub\d{2}/EP\d{2}_\d{2}f?").all()
    ws = load_workbook(corpus / "casme2" / "CASME2-coding-20140508.xlsx", read_only=True).worksheets[0]
    subjects = [r[0] for r in list(ws.iter_rows(values_only=True))[1:]]
    assert all(isinstance(s, int) for s in subjects)  # numbers in the sheet, sub01 on disk
    samm = load_dataset(corpus, "samm").table
    assert samm["subject"].str.fullmatch(r"\d{3}").all()
    assert all(sid.startswith(f"{s}_") for sid, s in zip(samm["sample_id"], samm["subject"]))
    smic = load_dataset(corpus, "smic").table
    assert set(smic["emotion"]) <= {"negative", "positive", "surprise"}
    for row in smic.itertuples():
        short = {"negative": "ne", "positive": "po", "surprise": "sur"}[row.emotion]
        assert row.sample_id.startswith(f"{row.subject}_{short}_")
        assert any(p.suffix == ".bmp" for p in (corpus / "smic").rglob(f"{row.sample_id}/*"))


@pytest.mark.parametrize("protocol,phase", [("ccac2024-dfme", "test_A"), ("ccac2024-dfme", "test_B"),
                                            ("casme3-7class", None), ("casme3-3class", None),
                                            ("megc2019-composite", None), ("casme2-5class", None),
                                            ("samm-5class", None), ("smic-3class", None),
                                            ("casme3-4class", None)])
def test_protocols_build_tasks_with_the_right_counts(corpus, protocol, phase):
    from harness.datasets import load_dataset
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task

    proto = get_protocol(protocol)
    task = build_task(proto, corpus)
    expected = 0
    for key in proto.datasets:
        t = load_dataset(corpus, key).table
        expected += sum(e in proto.label_map[key] and not isinstance(d, str) for e, d in zip(t["emotion"], t["defect"]))
    assert len(task.table) == expected
    folds = task.folds(phase)
    if proto.split_kind == "loso":
        assert len(folds) == task.table["group"].nunique()
        assert sorted(i for f in folds for i in f.test) == list(range(len(task.table)))
    else:
        (fold,) = folds
        assert fold.train and fold.test
        assert not set(task.table.iloc[list(fold.train)]["group"]) & set(task.table.iloc[list(fold.test)]["group"])


def test_every_sample_has_ground_truth(corpus):
    from harness.datasets import load_dataset
    from harness.synth.truth import load_truth, sample_ids

    for key in SPECS:
        table = load_dataset(corpus, key).table
        assert sorted(sample_ids(corpus, key)) == sorted(table["sample_id"])
        for row in table[table["defect"].isna()].head(3).itertuples():
            t = load_truth(corpus, key, row.sample_id)
            assert t.frame_indices[0] <= row.onset <= row.offset <= t.frame_indices[-1]
            assert t.label == row.emotion_raw


def test_manifest_records_seed_config_and_version(manifest):
    from harness.synth import GENERATOR_VERSION
    from harness.synth.config import SynthConfig

    assert manifest["generator"] == GENERATOR_VERSION
    assert manifest["seed"] == 3
    assert manifest["config"] == {**SynthConfig().as_dict(), "size": 64, "samples_per_subject": 4.0}
    assert set(manifest["datasets"]) == set(SPECS)


def test_bad_input_exits_2_and_names_the_fix(tmp_path, capsys):
    from harness.cli.main import main

    assert main(["data", "synth", "--like", "casme", "--out", str(tmp_path)]) == 2
    assert "did you mean 'casme3'" in capsys.readouterr().err
    assert main(["data", "synth", "--like", "smic", "--out", str(tmp_path), "--set", "amplitud=2"]) == 2
    assert "did you mean 'amplitude'" in capsys.readouterr().err
    assert main(["data", "synth", "--like", "smic", "--out", str(tmp_path), "--label-noise", "1.5"]) == 2
    assert "label_noise" in capsys.readouterr().err
    assert main(["data", "synth", "--like", "dfme", "--out", str(tmp_path), "--subjects", "2"]) == 2
    assert "too few" in capsys.readouterr().err


def test_existing_dataset_is_kept_unless_forced(tmp_path, capsys):
    from harness.cli.main import main

    args = ["data", "synth", "--like", "smic", "--out", str(tmp_path), "--subjects", "1", "--size", "48",
            "--set", "samples_per_subject=1", "--quiet", "--workers", "1"]
    assert main(args) == 0
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    assert not list(tmp_path.glob(".synth-*"))  # no temporary folder left behind


def test_planted_defects_go_through_the_errata_and_the_defect_policy(corpus, manifest, capsys):
    """Every listed defect the generator planted is corrected back to its plan by the corpus's own errata; the
    unlisted ones are worked around as the policy says (CAS(ME)^3 offset 0: excluded and counted; SAMM apex
    outside: treated as missing); with --no-errata the listed ones are defects again."""
    from harness.cli.main import main
    from harness.datasets import load_dataset
    from harness.synth.truth import load_truth

    for key, listed, unlisted in (("casme3", 6, "offset-zero-unlisted"), ("samm", 2, "apex-outside-unlisted")):
        planted = manifest["datasets"][key]["defects"]
        assert sum(d["listed"] for d in planted) == listed and [d["kind"] for d in planted if not d["listed"]] == [
            unlisted]
        result = load_dataset(corpus, key)
        table = result.table.set_index("sample_id")
        assert any(e.startswith(f"synthetic-{key}@") for e in result.errata)
        corrected = [p for p in result.problems if p.severity == "corrected"]
        assert len(corrected) == sum(sum(a != b for a, b in zip(d["written"], d["planned"]))
                                     for d in planted if d["listed"])
        for d in planted:
            row = table.loc[d["sample_id"]]
            truth = load_truth(corpus, key, d["sample_id"])
            if d["listed"]:
                assert (row["onset"], row["apex"], row["offset"]) == tuple(truth.annotated) == tuple(d["planned"])
            elif key == "casme3":
                assert row["defect"] == "casme3: key frames contradict (offset is 0)"
            else:
                assert str(row["apex"]) == "<NA>" and not isinstance(row["defect"], str)
    capsys.readouterr()
    assert main(["data", "check", "--data-root", str(corpus), "--dataset", "casme3", "--no-errata", "--json"]) == 1
    off = json.loads(capsys.readouterr().out)["datasets"][0]
    assert off["errata"] == [] and off["corrected"] == 0 and off["excluded"] >= 3  # two offsets 0, onset > offset
