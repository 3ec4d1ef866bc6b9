"""Protocols as data: the four shipped protocols on official-count fixtures, validation, the registry, the CLI."""
from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from harness.cli.main import main
from harness.datasets.base import AnnotationRecord
from harness.errors import BadInput, ValidationFailed
from harness.protocols import get_protocol, protocol_names
from harness.protocols.model import parse_protocol
from harness.protocols.task import build_task
from harness.registry import Registry, UnknownName
from tests import formats as F
from tests import official_releases as O

SHIPPED = ["casme2-5class", "casme3-3class", "casme3-4class", "casme3-7class", "ccac2024-dfme", "megc2019-composite",
           "samm-5class", "smic-3class"]


@pytest.fixture(scope="module")
def official_tasks(official_root):
    return {name: build_task(get_protocol(name), official_root, check_frames=False) for name in SHIPPED}


# ----- the shipped protocols on the official counts --------------------------------------------------------------
def test_shipped_protocols_are_listed():
    assert protocol_names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_official_counts_match(official_tasks, name):
    assert official_tasks[name].official_count_mismatches() == []


def test_ccac_split(official_tasks):
    task = official_tasks["ccac2024-dfme"]
    s = task.split_summary()
    assert {k: (v["samples"], v["subjects"]) for k, v in s.items()} == {
        "train": (1856, 176), "test_A": (474, 42), "test_B": (299, 41)}
    assert s["test_B"]["classes"] == dict(zip(F.DFME_CLASSES, O.DFME["test_B"][2]))
    assert task.exclusion_summary() == []
    t = task.table
    subjects = {split: set(t.loc[t["split"] == split, "group"]) for split in ("train", "test_A", "test_B")}
    assert not (subjects["train"] & subjects["test_A"]) and not (subjects["train"] & subjects["test_B"])
    assert not (subjects["test_A"] & subjects["test_B"])
    (fold,) = task.folds("test_A")
    assert (len(fold.train), len(fold.test)) == (1856, 474)
    assert len(task.test_positions("test_B")) == 299
    proto = task.protocol
    assert proto.phases["test_A"].limits.per_team_per_day == 1 and proto.phases["test_A"].limits.per_team_total is None
    assert proto.phases["test_B"].limits.per_team_total == 3 and proto.phases["test_B"].limits.per_team_per_day is None
    assert proto.ranking == ("uf1", "uar", "acc", "earliest") and proto.n_classes == 7
    assert proto.board_keep == "best"


def test_casme3_7class(official_tasks):
    task = official_tasks["casme3-7class"]
    assert task.exclusion_summary() == []
    s = task.split_summary()["all"]
    assert (s["samples"], s["subjects"], s["folds"]) == (860, 94, 94)
    assert s["classes"]["others"] == 161  # 158 'others' + 3 'Others'
    folds = task.folds()
    assert len(folds) == 94
    tested = Counter(i for f in folds for i in f.test)
    assert len(tested) == 860 and set(tested.values()) == {1}
    for f in folds[:5]:
        assert not set(f.train) & set(f.test) and len(f.train) + len(f.test) == 860
        assert task.table.iloc[list(f.test)]["group"].nunique() == 1


def test_casme3_3class_mapping_and_exclusions(official_tasks):
    task = official_tasks["casme3-3class"]
    assert task.exclusion_summary() == [("casme3: emotion 'others' is not mapped to a class", 161)]
    s = task.split_summary()["all"]
    assert s["samples"] == 699 and s["classes"] == {"negative": 64 + 250 + 86 + 57, "positive": 55, "surprise": 187}
    t = task.table
    assert dict(t.groupby("emotion")["label"].first()) == {
        "anger": "negative", "disgust": "negative", "fear": "negative", "sad": "negative", "happy": "positive",
        "surprise": "surprise"}
    assert list(t["label_index"].head(3)) == [task.protocol.classes.index(c) for c in t["label"].head(3)]


def test_megc2019_composite(official_tasks):
    task = official_tasks["megc2019-composite"]
    s = task.split_summary()
    assert {k: (v["samples"], v["subjects"]) for k, v in s.items()} == {
        "casme2": (145, 24), "samm": (133, 28), "smic": (164, 16), "all": (442, 68)}
    assert s["all"]["classes"] == {"negative": 250, "positive": 109, "surprise": 83}
    assert s["casme2"]["classes"] == {"negative": 88, "positive": 32, "surprise": 25}
    assert task.exclusion_summary() == [
        ("casme2: emotion 'fear' is not mapped to a class", 2),
        ("casme2: emotion 'others' is not mapped to a class", 99),
        ("casme2: emotion 'sadness' is not mapped to a class", 7),
        ("casme2: not in the MEGC2019 ground-truth list", 2),
        ("samm: emotion 'other' is not mapped to a class", 26),
    ]
    ex = task.excluded
    assert set(ex.loc[ex["reason"].str.contains("ground-truth"), "sample_id"]) == {"sub04/EP12_01f", "sub05/EP09_05f"}
    assert task.unmatched_exclusions == []
    t = task.table
    assert t["uid"].str.startswith(("casme2/", "samm/", "smic/")).all()  # ids qualified by dataset
    assert len(task.folds()) == 68
    assert all(task.table.iloc[list(f.test)]["dataset"].nunique() == 1 for f in task.folds())


def test_loso_groups_never_merge_datasets(tmp_path, monkeypatch):
    """Two datasets that both call a subject `s1` give two folds, not one."""
    F.write_dataset(tmp_path, "smic", F.smic_records(1))
    F.write_dataset(tmp_path, "casme3", [AnnotationRecord("s1", "a", 1, 2, 3, "happy")])
    _install_protocol(tmp_path / "protos", "two-sets", _base(datasets=["smic", "casme3"], label_map={
        "smic": {"negative": "neg", "positive": "pos", "surprise": "pos"}, "casme3": {"happy": "pos"}}),
        monkeypatch)
    task = build_task(get_protocol("two-sets"), tmp_path)
    assert sorted(f.name for f in task.folds()) == ["casme3/s1", "smic/s1"]


# ----- small fixtures: labels absent, overlap, exclusions ---------------------------------------------------------
def test_unlabelled_test_phase_builds_but_has_no_labels(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    F.strip_dfme_labels(tmp_path / "dfme", "test_B")
    task = build_task(get_protocol("ccac2024-dfme"), tmp_path)
    assert task.has_labels("test_A") and not task.has_labels("test_B")
    assert task.split_summary()["test_B"]["classes"]["unlabelled"] == 14
    assert task.test_table("test_B")["label_index"].isna().all()
    assert task.exclusion_summary() == []


def test_unlabelled_training_rows_are_excluded_with_a_reason(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    F.strip_dfme_labels(tmp_path / "dfme", "train")
    with pytest.raises(ValidationFailed, match="no samples in the training split"):
        build_task(get_protocol("ccac2024-dfme"), tmp_path)


def test_phases_must_be_subject_disjoint(tmp_path):
    recs = F.dfme_records({"train": 2, "test_A": 1, "test_B": 1})
    leak = AnnotationRecord("sub0001", "sub0001_99", 0, 1, 2, "anger", "4", 200, "test_B")
    F.write_dataset(tmp_path, "dfme", [*recs, leak])
    with pytest.raises(ValidationFailed) as err:
        build_task(get_protocol("ccac2024-dfme"), tmp_path)
    assert "phase test_B shares 1 subject(s) with train (e.g. dfme/sub0001)" in str(err.value)


def test_data_errors_stop_build_task_but_one_contradicting_row_does_not(tmp_path):
    from harness.datasets.policy import LoadOptions

    recs = [AnnotationRecord("spNO.1", "a", 5, 9, 7, "happy"), AnnotationRecord("spNO.1", "b", 9, 10, 4, "sad"),
            AnnotationRecord("spNO.2", "a", 5, 6, 7, "sad")]
    F.write_dataset(tmp_path, "casme3", recs)
    task = build_task(get_protocol("casme3-7class"), tmp_path)  # apex outside: dropped; onset > offset: excluded
    assert len(task.table) == 2 and str(task.table.iloc[0]["apex"]) == "<NA>"
    assert task.exclusion_summary() == [("casme3: key frames contradict (onset after offset)", 1)]
    with pytest.raises(ValidationFailed, match="onset after offset"):  # --strict: every warning an error
        build_task(get_protocol("casme3-7class"), tmp_path, options=LoadOptions(strict=True))
    F.write_dataset(tmp_path, "casme3", [*recs, AnnotationRecord("spNO.3", "a", 5, 6, 7, "joy")])
    with pytest.raises(ValidationFailed, match="unknown emotion 'joy'"):
        build_task(get_protocol("casme3-7class"), tmp_path)


def test_small_root_all_protocols(small_root):
    sizes = {n: len(build_task(get_protocol(n), small_root).table) for n in SHIPPED}
    # casme3: 21 rows, 3 'Others'; megc: casme2 6 of 9 mapped, samm 8 of 9 (not 'Other'), smic 9; the 5-class
    # protocols drop sadness and fear (casme2: 7 of 9) and disgust, fear, sadness (samm: 6 of 9)
    assert sizes == {"casme3-7class": 21, "casme3-3class": 18, "ccac2024-dfme": 49, "megc2019-composite": 23,
                     "casme2-5class": 7, "samm-5class": 6, "smic-3class": 9, "casme3-4class": 21}


# ----- phases and names ------------------------------------------------------------------------------------------
def test_check_phase():
    ccac, loso = get_protocol("ccac2024-dfme"), get_protocol("casme3-7class")
    assert ccac.check_phase("test_B") == "test_B"
    with pytest.raises(BadInput, match="did you mean 'test_A'"):
        ccac.check_phase("test_a")
    with pytest.raises(BadInput, match="choose one with --phase"):
        ccac.check_phase(None)
    assert loso.check_phase(None) is None and loso.check_phase("loso") is None
    with pytest.raises(BadInput, match="has no phases"):
        loso.check_phase("test_A")


def test_unknown_protocol_did_you_mean():
    with pytest.raises(UnknownName) as err:
        get_protocol("ccac2024-dfm")
    assert "did you mean 'ccac2024-dfme'?" in str(err.value)
    assert "Known protocols: casme2-5class, casme3-3class" in str(err.value)


def test_registry():
    reg: Registry = Registry("widget")
    reg.register("alpha", "json:dumps")  # lazy entry, imported on first get
    reg.register("beta")(len)
    assert reg.names() == ["alpha", "beta"] and "alpha" in reg
    assert reg.get("alpha") is json.dumps and reg.get("beta") is len
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("beta", print)
    with pytest.raises(UnknownName, match="did you mean 'alpha'"):
        reg.get("alpah")
    with pytest.raises(UnknownName) as err:
        reg.get("zzzzzz")
    assert "did you mean" not in str(err.value) and "Known widgets: alpha, beta" in str(err.value)


# ----- validation: every problem at once, each naming its field --------------------------------------------------
def _base(**over) -> dict:
    data = {"name": "p", "version": "1", "datasets": ["casme3"], "classes": ["neg", "pos"],
            "label_map": {"casme3": {"happy": "pos", "sad": "neg"}}, "split": {"kind": "loso"}}
    data.update(over)
    return data


def _install_protocol(folder: Path, name: str, data: dict, monkeypatch) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {**data, "name": name}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(folder))
    return path


def _problems(data) -> list[str]:
    with pytest.raises(ValidationFailed) as err:
        parse_protocol(data, Path("p.yaml"))
    return [p.render() for p in err.value.problems]


def test_valid_base_parses():
    p = parse_protocol(_base(), Path("p.yaml"))
    assert p.classes == ("neg", "pos") and p.split_kind == "loso" and p.board_keep == "latest"
    assert p.metrics == ("uf1", "uar", "acc") and p.ranking == ("uf1", "uar", "acc", "earliest")


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.pop("classes"), "key 'classes': missing field"),
    (lambda d: d.update(classes=["a"]), "key 'classes': must be at least two distinct names"),
    (lambda d: d.update(classes=["a", "a"]), "key 'classes': must be at least two distinct names"),
    (lambda d: d.update(datasets=["casme4"]), "key 'datasets': unknown dataset 'casme4'"),
    (lambda d: d["label_map"]["casme3"].update(fear="angry"),
     "key 'label_map.casme3.fear': maps to 'angry', which is not a class (neg, pos)"),
    (lambda d: d.update(label_map={}), "key 'label_map.casme3': no mapping for dataset 'casme3'"),
    (lambda d: d.update(split={"kind": "kfold"}),
     "key 'split.kind': unknown split kind 'kfold' Known split kinds: loso, phases"),
    (lambda d: d.update(split={"kind": "phases", "phases": {}}), "key 'split.train': missing field"),
    (lambda d: d.update(split={"kind": "phases", "train": "train", "phases": {"A": {}}}),
     "key 'split.phases.A.split': missing field"),
    (lambda d: d.update(split={"kind": "phases", "train": "t", "phases": {"A": {"split": "a", "limits": {
        "per_team_per_day": 0}}}}), "key 'split.phases.A.limits.per_team_per_day': must be a positive integer"),
    (lambda d: d.update(split={"kind": "phases", "train": "t", "phases": {"A": {"split": "a", "limits": {
        "per_team_total": True}}}}), "key 'split.phases.A.limits.per_team_total': must be an integer, not True"),
    (lambda d: d.update(split={"kind": "phases", "train": "t", "phases": {"A": {"split": "a", "limits": {
        "per_week": 2}}}}), "key 'split.phases.A.limits.per_week': unknown field 'per_week'"),
    (lambda d: d.update(metrics=["auc"]), "key 'metrics': unknown metric 'auc'"),
    (lambda d: d.update(ranking=["uf1", "latest"]),
     "key 'ranking': 'latest' is neither one of the protocol's metrics"),
    (lambda d: d.update(metrics=["uf1"], ranking=["uar", "earliest"]), "key 'ranking': 'uar' is neither"),
    (lambda d: d.update(exclude_samples=[{"dataset": "casme3"}]), "key 'exclude_samples[0].sample_id': missing"),
    (lambda d: d.update(leaderboard={"keep": "first"}),
     "key 'leaderboard.keep': must be one of latest, best, not 'first'"),
    (lambda d: d.update(version=[1]), "key 'version': must be text or a number, not [1]"),
    (lambda d: d.update(official_counts={"all": 442}), "key 'official_counts.all': must be a mapping, not 442"),
    (lambda d: d.update(official_counts={"all": {"classes": {"neg": 3, "joy": 1}}}),
     "key 'official_counts.all.classes': names 'joy', not a class of the protocol"),
    (lambda d: d.update(official_counts={"all": {"classes": {"neg": -1}}}),
     "key 'official_counts.all.classes': must map class names to integers"),
    (lambda d: d.update(official_counts={"all": {"samples": "many"}}),
     "key 'official_counts.all.samples': must be an integer, not 'many'"),
    (lambda d: d.update(exclude_samples=[{"dataset": "smic", "sample_id": "x", "reason": "r"}]),
     "key 'exclude_samples[0].dataset': 'smic' is not one of the protocol's datasets (casme3)"),
])
def test_validation_names_the_field(mutate, needle):
    data = copy.deepcopy(_base())
    mutate(data)
    problems = _problems(data)
    assert any(needle in p for p in problems), problems


def test_validation_reports_all_problems_at_once():
    data = _base(metrics=["auc"], ranking=["x"], split={"kind": "kfold"})
    data.pop("classes")
    assert len(_problems(data)) >= 4


def test_not_a_mapping():
    with pytest.raises(ValidationFailed, match="must be a mapping"):
        parse_protocol(["a"], Path("p.yaml"))


def test_protocol_file_name_must_match(tmp_path, monkeypatch):
    path = _install_protocol(tmp_path, "mine", _base(), monkeypatch)
    assert get_protocol("mine").name == "mine"
    path.rename(tmp_path / "other.yaml")
    with pytest.raises(BadInput, match="must equal the file name 'other'"):
        get_protocol("other")
    (tmp_path / "broken.yaml").write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(BadInput, match="not valid YAML"):
        get_protocol("broken")


# ----- CLI -------------------------------------------------------------------------------------------------------
def test_cli_protocols_list(capsys):
    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out
    assert "megc2019-composite: excluded by the mapping: CASME II: others (99)" in out
    assert "casme3-3class: excluded by the mapping: 'others' is not mapped" in out
    assert main(["protocols", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == SHIPPED
    dfme = rows[SHIPPED.index("ccac2024-dfme")]
    assert dfme["classes"] == list(F.DFME_CLASSES) and dfme["exclusions"]


def test_cli_protocols_show_with_data(official_root, capsys):
    assert main(["protocols", "show", "megc2019-composite", "--data-root", str(official_root)]) == 0
    out = capsys.readouterr().out
    assert "classes (index order fixes K=3): 0=negative, 1=positive, 2=surprise" in out
    assert "label map casme2: disgust->negative, repression->negative" in out
    lines = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.split()[:1] and
             line.split()[0] in {"casme2", "samm", "smic", "all"} and len(line.split()) > 2}
    assert lines == {"casme2": ["145", "24"], "samm": ["133", "28"], "smic": ["164", "16"], "all": ["442", "68"]}
    assert "excluded: 136" in out and "note: differs" not in out
    assert main(["protocols", "show", "ccac2024-dfme", "--data-root", str(official_root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["splits"]["test_A"]["samples"] == 474 and data["excluded"] == []
    assert data["official_count_differences"] == []
    assert data["official_counts"]["train"] == {"samples": 1856, "subjects": 176, "classes": dict(
        zip(F.DFME_CLASSES, O.DFME["train"][2]))}


def test_cli_protocols_show_reports_count_differences(small_root, capsys):
    assert main(["protocols", "show", "casme3-7class", "--data-root", str(small_root)]) == 0
    assert "note: differs from the official release: all: samples 21 (official release: 860)" in capsys.readouterr().out


def test_cli_protocols_show_without_data(capsys):
    assert main(["protocols", "show", "ccac2024-dfme", "--no-data"]) == 0
    out = capsys.readouterr().out
    assert "test_A (1 scored per team per day (UTC)" in out and "data root" not in out
    # no --data-root, no HARNESS_DATA_ROOT and no synthetic corpus: the definition still prints
    assert main(["protocols", "show", "casme3-3class"]) == 0
    captured = capsys.readouterr()
    assert "negative" in captured.out and "no data root" in captured.out + captured.err
    # an explicit root that does not exist is an error
    assert main(["protocols", "show", "casme3-3class", "--data-root", "/nonexistent/x"]) == 2


def test_cli_protocols_show_unknown(capsys):
    assert main(["protocols", "show", "casme3-3clas"]) == 2
    assert "did you mean 'casme3-3class'" in capsys.readouterr().err
