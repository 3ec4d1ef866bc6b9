"""The issue's "Done when", on fixtures with the real composition of the official files (tests/official_releases.py):
every file fact of the reference is reproduced and handled, `harness data check` reports the known defects as
corrected and exits 0, `harness protocols show` gives the official counts class by class, `template` lists exactly
the official MEGC2019 ids, `score` equals an independent computation, and a LOSO `submit` runs on CAS(ME)^3."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from openpyxl import load_workbook

from harness.cli.main import main
from harness.datasets import load_dataset
from tests import official_releases as O

SHIPPED = ["casme2-5class", "casme3-3class", "casme3-4class", "casme3-7class", "ccac2024-dfme", "megc2019-composite",
           "samm-5class", "smic-3class"]


def _show(root: Path, name: str, capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["protocols", "show", name, "--data-root", str(root), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _counts(split: dict) -> tuple:
    return split["samples"], split["subjects"], split["classes"]


# ----- the files as released -----------------------------------------------------------------------------------------
def test_the_fixture_files_have_the_release_facts(official_root):
    wb = load_workbook(official_root / "casme3" / "annotation" / "partA" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                       read_only=True)
    assert wb.sheetnames == ["label", "Sheet1", "Sheet3"]
    rows = list(wb["label"].iter_rows(values_only=True))
    wb.close()
    assert len(rows) == 861 and all(isinstance(c, str) for r in rows[1:] for c in r[:5])  # every cell text
    assert rows[129][:5] == ("spNO.149", "d", "112", "83", "358")  # sheet row 130 as released
    wb = load_workbook(official_root / "casme2" / "CASME2-coding-20140508.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert rows[0][2] is None and rows[0][6] is None and len(rows[0]) == 9  # blank-headed C and G
    assert isinstance(rows[1][0], int) and sum(r[4] == "/" for r in rows[1:]) == 21
    wb = load_workbook(official_root / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx", read_only=True)
    rows = list(wb["MICRO_ONLY"].iter_rows(values_only=True))
    wb.close()
    assert rows[13][0] == "Subject" and rows[14][0] == "006" and len(rows) == 13 + 1 + 159
    assert rows[139][1:6] == ("028_4_1", 4, 1071, 1143, 1134) and rows[146][1] == "032_3_1"
    wb = load_workbook(official_root / "dfme" / "testA_full_with_AU.xlsx", read_only=True)
    aus = [r[8] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
    wb.close()
    assert {type(a) for a in aus} == {int, str}


def test_adapters_read_the_release_counts(official_root):
    t = load_dataset(official_root, "dfme", check_frames=False).table
    for split, (samples, subjects, per_class, per_fps, onset_zero) in O.DFME.items():
        part = t[t["split"] == split]
        assert (len(part), part["subject"].nunique(), int((part["onset"] == 0).sum())) == (samples, subjects,
                                                                                            onset_zero)
        assert tuple(int((part["emotion"] == c).sum()) for c in O.DFME_CLASSES) == per_class
        assert tuple(int((part["fps"] == f).sum()) for f in O.DFME_FPS) == per_fps
    assert t["sample_id"].is_unique and t.groupby("subject")["split"].nunique().max() == 1
    assert {"4", "4+23", "L12", "R4+AD38"} <= set(t["aus"])
    c3 = load_dataset(official_root, "casme3", check_frames=False).table
    assert (len(c3), c3["subject"].nunique(), len(c3.groupby(["subject", "clip"]))) == (860, 94, O.CASME3_CLIPS)
    assert c3.groupby(["subject", "clip"]).size().max() == O.CASME3_MAX_PER_CLIP
    assert Counter(c3["emotion_raw"]) == O.CASME3_EMOTIONS and c3["sample_id"].is_unique
    assert "J" in set(c3["clip"])
    c2 = load_dataset(official_root, "casme2", check_frames=False)
    assert (len(c2.table), c2.table["subject"].nunique()) == (255, 26)
    assert Counter(c2.table["emotion"]) == O.CASME2_EMOTIONS
    assert sum(p.severity == "note" and p.column == "ApexFrame" for p in c2.problems) == 21
    samm = load_dataset(official_root, "samm", check_frames=False).table
    assert (len(samm), samm["subject"].nunique()) == (159, 29) and Counter(samm["emotion_raw"]) == O.SAMM_EMOTIONS
    assert set(samm.loc[samm["aus"].str.contains(" or "), "aus"]) == {"AU4 or AU7"}  # kept as released
    smic = load_dataset(official_root, "smic").table
    assert (len(smic), smic["subject"].nunique()) == (164, 16) and Counter(smic["emotion"]) == O.SMIC_CLASSES


# ----- Done when: data check -----------------------------------------------------------------------------------------
def test_data_check_reports_the_known_defects_as_corrected_and_exits_0(official_root, capsys):
    args = ["data", "check", "--data-root", str(official_root), *[a for k in ("casme3", "casme2", "samm", "smic")
                                                                   for a in ("--dataset", k)]]
    assert main([*args, "--json"]) == 0
    by = {d["dataset"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    corrected = {(k, p["row"], p["column"]) for k, d in by.items() for p in d["problems"]
                 if p["severity"] == "corrected"}
    assert corrected == {("casme3", row, field) for row, field in
                         [(130, "Apex"), (710, "Offset"), (751, "Onset"), (752, "Onset"), (752, "Apex"),
                          (798, "Offset"), (800, "Offset")]} | {("samm", 140, "Apex Frame"),
                                                                 ("samm", 147, "Apex Frame")}
    assert all(d["errors"] == 0 and d["warnings"] == 0 and d["excluded"] == 0 for d in by.values())
    assert by["casme3"]["errata"] == ["casme3-partA-v2@1"] and by["samm"]["errata"] == ["samm-v2@1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "casme3: 860 samples, ok, 0 warning(s), 7 corrected by casme3-partA-v2@1" in out
    assert "row 751, column 'Onset': corrected Onset 3647 -> 2647" in out
    dfme = load_dataset(official_root, "dfme", check_frames=False)  # annotation only: no frames written
    assert [p for p in dfme.problems if p.severity != "note"] == []


# ----- Done when: protocols show -------------------------------------------------------------------------------------
def test_protocols_show_gives_the_official_counts_class_by_class(official_root, capsys):
    dfme = _show(official_root, "ccac2024-dfme", capsys)
    for split, (samples, subjects, per_class, _, _) in O.DFME.items():
        assert _counts(dfme["splits"][split]) == (samples, subjects, dict(zip(O.DFME_CLASSES, per_class)))
    seven = _show(official_root, "casme3-7class", capsys)
    assert _counts(seven["splits"]["all"]) == (860, 94, {"anger": 64, "disgust": 250, "fear": 86, "happy": 55,
                                                          "others": 161, "sad": 57, "surprise": 187})
    three = _show(official_root, "casme3-3class", capsys)
    assert _counts(three["splits"]["all"]) == (699, 88, O.CASME3_3CLASS["classes"])
    megc = _show(official_root, "megc2019-composite", capsys)
    for key, (samples, subjects, classes) in O.MEGC_COUNTS.items():
        assert _counts(megc["splits"][key]) == (samples, subjects, classes)
    assert _counts(megc["splits"]["all"]) == (442, 68, {"negative": 250, "positive": 109, "surprise": 83})
    for out in (dfme, seven, three, megc):
        assert out["official_count_differences"] == [] and out["warnings"] == [] and out["notes"] == []
    assert megc["errata"] == {"casme2": "none", "samm": "samm-v2@1", "smic": "none"}
    assert three["errata"] == {"casme3": "casme3-partA-v2@1"} and three["corrected"] == 7



#: The classic single-dataset protocols, their counts written out from the reference (real-annotation-files.md),
#: not read from the protocol files: samples, subjects (None where the sources give none), classes, exclusions.
CLASSIC = {
    "casme2-5class": (246, 26, {"happiness": 32, "disgust": 63, "repression": 27, "surprise": 25, "others": 99},
                      {"casme2: emotion 'sadness' is not mapped to a class": 7,
                       "casme2: emotion 'fear' is not mapped to a class": 2}),
    "samm-5class": (136, None, {"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26},
                    {"samm: emotion 'disgust' is not mapped to a class": 9,
                     "samm: emotion 'fear' is not mapped to a class": 8,
                     "samm: emotion 'sadness' is not mapped to a class": 6}),
    "smic-3class": (164, 16, {"negative": 70, "positive": 51, "surprise": 43}, {}),
    "casme3-4class": (860, 94, {"negative": 457, "positive": 55, "surprise": 187, "others": 161}, {}),
}


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_protocols_show_gives_the_classic_protocols_official_counts(official_root, capsys, name):
    samples, subjects, classes, excluded = CLASSIC[name]
    out = _show(official_root, name, capsys)
    split = out["splits"]["all"]
    assert (split["samples"], split["classes"]) == (samples, classes)
    if subjects is not None:
        assert split["subjects"] == subjects
    assert {e["reason"]: e["count"] for e in out["excluded"]} == excluded
    assert out["official_count_differences"] == [] and out["warnings"] == []
    assert out["official_counts"]["all"]["samples"] == samples  # the file states what it is checked against

def _meb_protocol(folder: Path, monkeypatch) -> str:
    """megc2019-composite with MEB's three CASME II exclusions (computed on another sheet)."""
    from harness.paths import builtin_dir

    data = yaml.safe_load((builtin_dir("protocols") / "megc2019-composite.yaml").read_text())
    data["name"] = "megc2019-meb"
    data["exclude_samples"] = [{"dataset": "casme2", "sample_id": s, "reason": "casme2: MEB's exclusion"}
                               for s in ("sub04/EP12_01f", "sub05/EP12_03f", "sub24/EP02_07")]
    folder.mkdir()
    (folder / "megc2019-meb.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv("HARNESS_PROTOCOLS_PATH", str(folder))
    return "megc2019-meb"


def test_a_test_set_one_sample_off_has_the_right_totals_and_is_still_flagged(official_root, tmp_path, capsys,
                                                                             monkeypatch):
    name = _meb_protocol(tmp_path / "protos", monkeypatch)
    out = _show(official_root, name, capsys)
    assert (out["splits"]["all"]["samples"], out["splits"]["all"]["subjects"]) == (442, 68)  # totals agree...
    assert set(out["official_count_differences"]) == {  # ...classes do not
        "casme2: class negative 89 (official release: 88)", "casme2: class surprise 24 (official release: 25)",
        "all: class negative 251 (official release: 250)", "all: class surprise 82 (official release: 83)"}
    assert any("sub24/EP02_07" in n and "matches no sample" in n for n in out["notes"])
    assert main(["protocols", "show", name, "--data-root", str(official_root)]) == 0
    text = capsys.readouterr().out
    assert "note: differs from the official release: casme2: class negative 89 (official release: 88)" in text


def test_the_2019_reissue_of_casme2_is_detected_and_its_148_samples_flagged(official_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "root"
    for key in ("samm", "smic"):
        shutil.copytree(official_root / key, root / key, symlinks=True)
    O.write_casme2(root, O.casme2_records(reissue=True), layout="reissue-2019", subject_as="text")
    out = _show(root, "megc2019-composite", capsys)
    assert out["splits"]["casme2"]["samples"] == 148
    assert "casme2: samples 148 (official release: 145)" in out["official_count_differences"]
    assert any("2019-07-01 re-issue" in w and "148 CASME II samples" in w for w in out["warnings"])


# ----- Done when: template and score ---------------------------------------------------------------------------------
def _official_list(official_root) -> list[tuple[str, str, str, int]]:
    return O.megc2019_list(O.casme2_records(), O.samm_records(), O.smic_records())


def test_template_lists_exactly_the_official_megc2019_ids(official_root, tmp_path):
    official = _official_list(official_root)
    assert len(official) == 442 and Counter(x[3] for x in official) == {0: 250, 1: 109, 2: 83}
    assert len({(x[0], x[1]) for x in official}) == 68
    out = tmp_path / "template.csv"
    assert main(["template", "-p", "megc2019-composite", "--data-root", str(official_root), "-o", str(out)]) == 0
    with open(out, newline="") as f:
        ids = [r["sample_id"] for r in csv.DictReader(f)]
    assert sorted(ids) == sorted(O.megc2019_uid(d, s, c) for d, s, c, _ in official)
    assert "casme2/sub05/EP12_03f" in ids and "casme2/sub05/EP09_05f" not in ids


def test_score_equals_an_independent_computation(official_root, tmp_path, capsys):
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    official = _official_list(official_root)
    truth = {O.megc2019_uid(d, s, c): y for d, s, c, y in official}
    rng = np.random.default_rng(7)
    ids = sorted(truth)
    pred = {i: int(rng.choice(3, p=[0.5, 0.3, 0.2])) if rng.random() < 0.6 else truth[i] for i in ids}
    path = tmp_path / "pred.csv"
    path.write_text("sample_id,prediction\n" + "".join(f"{i},{O.MEGC_CLASSES[pred[i]]}\n" for i in ids))
    assert main(["score", str(path), "-p", "megc2019-composite", "--data-root", str(official_root), "--json",
                 "--draws", "10"]) == 0
    report = json.loads(capsys.readouterr().out)
    m = report["metrics"]
    y, p = [truth[i] for i in ids], [pred[i] for i in ids]
    assert m["uf1"]["value"] == pytest.approx(f1_score(y, p, labels=[0, 1, 2], average="macro"), abs=1e-12)
    assert m["uar"]["value"] == pytest.approx(recall_score(y, p, labels=[0, 1, 2], average="macro"), abs=1e-12)
    assert m["acc"]["value"] == pytest.approx(accuracy_score(y, p), abs=1e-12)
    # the MEGC way: Full, then SMIC, CASME II and SAMM, each its part of the same pooled predictions
    assert [(k, v["title"], v["n_samples"], v["n_subjects"]) for k, v in report["parts"].items()] == [
        ("smic", "SMIC-HS", 164, 16), ("casme2", "CASME II", 145, 24), ("samm", "SAMM", 133, 28)]
    for key, part in report["parts"].items():
        yd = [truth[i] for i in ids if i.startswith(f"{key}/")]
        pd_ = [pred[i] for i in ids if i.startswith(f"{key}/")]
        assert part["metrics"]["uf1"]["value"] == pytest.approx(f1_score(yd, pd_, labels=[0, 1, 2], average="macro"))
        assert part["metrics"]["uar"]["value"] == pytest.approx(recall_score(yd, pd_, labels=[0, 1, 2],
                                                                             average="macro"))
        low, high = part["metrics"]["uf1"]["ci"]
        assert low <= part["metrics"]["uf1"]["value"] <= high


# ----- Done when: a LOSO submit on CAS(ME)^3 -------------------------------------------------------------------------
@pytest.mark.slow
def test_loso_submit_runs_on_casme3_with_its_contradicting_rows(tmp_path, harness_home):
    from tests.fixtures.runs import submit

    released, corrected = O.casme3_small_defects()
    O.write_release_fixture(tmp_path, "casme3", released, corrected, frames=True)
    assert main(["data", "check", "--data-root", str(tmp_path)]) == 0
    out = submit("sanity-majority", "casme3-3class", data_root=tmp_path, quiet=True, boards=True)
    assert out.status == "scored" and out.report["n_samples"] == len(released) - 1
    from harness.store.db import open_store

    with open_store() as store:
        prov = store.get_submission(out.submission_id).provenance
    reason = "casme3: key frames contradict (offset is 0)"
    assert prov["errata"] == {"casme3": "casme3-partA-v2@1"} and [list(e) for e in prov["excluded"]] == [[reason, 1]]
    board = (harness_home / "leaderboard" / "casme3-3class.md").read_text()
    assert f"Excluded on real {prov['data_fingerprint'][:8]}: 1 {reason}." in board  # the board's exclusion note
