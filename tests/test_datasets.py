"""Dataset adapters on fixtures in the official formats (tests/formats.py), and `harness data check`."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from harness.cli.main import main
from harness.datasets import load_dataset
from harness.datasets.base import AnnotationRecord, as_int, normalise_label
from harness.datasets.xlsx import read_sheet, write_xlsx
from harness.errors import BadInput
from tests import formats as F


def _errors(result):
    return [p for p in result.problems if p.severity == "error"]


def _warnings(result):
    return [p for p in result.problems if p.severity == "warning"]


# ----- helpers of base.py ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (5, 5), (5.0, 5), ("12", 12), (" 12 ", 12), ("12.0", 12), ("/", None), ("", None), (None, None),
    (5.5, None), (float("nan"), None), (True, None), ("-1", -1), ("abc", None),
])
def test_as_int(value, expected):
    assert as_int(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("Others", "others"), ("  Happy  ", "happy"), ("Sad\tFace", "sad face"), ("", None), ("   ", None),
    (None, None), (float("nan"), None),
])
def test_normalise_label(value, expected):
    assert normalise_label(value) == expected


# ----- DFME ----------------------------------------------------------------------------------------------------
def test_dfme_columns_splits_and_ids(small_root):
    res = load_dataset(small_root, "dfme")
    t = res.table
    assert _errors(res) == []
    assert len(t) == 7 * (3 + 2 + 2)
    assert Counter(t["split"]) == {"train": 21, "test_A": 14, "test_B": 14}
    row = t[t["sample_id"] == "sub0004_03"].iloc[0]
    assert (row["subject"], row["clip"], row["split"]) == ("sub0004", "sub0004_03", "test_A")
    assert (row["onset"], row["apex"], row["offset"], row["fps"]) == (0, 1, 2, 200.0)
    assert row["emotion"] == "disgust" and row["aus"] == "4+7"
    assert Path(row["clip_dir"]) == small_root / "dfme" / "frames" / "sub0004" / "sub0004_03"
    assert sorted(p.name for p in res.files) == ["testA_full_with_AU.xlsx", "testB_full_with_AU.xlsx",
                                                  "training_full_with_AU.xlsx"]


def test_dfme_workbook_has_official_columns(small_root):
    wb = load_workbook(small_root / "dfme" / "training_full_with_AU.xlsx", read_only=True)
    header = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    wb.close()
    assert header == ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId",
                      "Fps", "AU"]


def test_dfme_emotion_id_mismatch_is_an_error(tmp_path):
    recs = F.dfme_records({"train": 1, "test_A": 1, "test_B": 1})
    recs[2] = AnnotationRecord(recs[2].subject, recs[2].clip, 0, 1, 2, "disgust", "4", 200, "train",
                               extra={"EmotionId": 5})
    F.write_dataset(tmp_path, "dfme", recs)
    res = load_dataset(tmp_path, "dfme")
    errs = _errors(res)
    assert len(errs) == 1
    assert errs[0].row == 4 and errs[0].column == "EmotionId"
    assert "EmotionId 5 does not match Emotion 'disgust' (expected 2)" in errs[0].message


def test_dfme_test_file_without_emotion_columns_loads_unlabelled(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    F.strip_dfme_labels(tmp_path / "dfme", "test_B")
    res = load_dataset(tmp_path, "dfme")
    assert _errors(res) == []
    t = res.table
    assert t.loc[t["split"] == "test_B", "emotion"].isna().all()
    assert t.loc[t["split"] != "test_B", "emotion"].notna().all()


def test_dfme_missing_file_and_bad_columns_reported_together(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    (tmp_path / "dfme" / "testA_full_with_AU.xlsx").unlink()
    write_xlsx(tmp_path / "dfme" / "testB_full_with_AU.xlsx", {"Sheet1": (["Subject", "Filename"], [["a", "b"]])})
    res = load_dataset(tmp_path, "dfme")
    msgs = [p.render() for p in _errors(res)]
    assert any("no test_A annotation file" in m for m in msgs), msgs
    assert any("testB_full_with_AU.xlsx" in m and "OnsetFrame" in m for m in msgs), msgs
    assert (res.table["split"] == "train").sum() == 21  # the good file still loads


# ----- CAS(ME)^3 -------------------------------------------------------------------------------------------------
def test_casme3_ids_include_onset_and_labels_are_normalised(small_root):
    res = load_dataset(small_root, "casme3")
    t = res.table
    assert _errors(res) == [] and len(t) == 3 * 7
    clip_a = t[(t["subject"] == "spNO.2") & (t["clip"] == "a")]
    assert sorted(clip_a["sample_id"]) == ["spNO.2_a_10", "spNO.2_a_20"]  # two MEs, one clip
    others = t[t["emotion_raw"] == "Others"]
    assert len(others) == 3 and set(others["emotion"]) == {"others"}
    assert set(t["fps"]) == {30.0}
    row = t[t["sample_id"] == "spNO.2_a_20"].iloc[0]
    assert (row["onset"], row["apex"], row["offset"], row["emotion"], row["aus"]) == (20, 21, 22, "happy", "12")
    assert Path(row["clip_dir"]) == small_root / "casme3" / "part_A" / "spNO.2" / "a" / "color"
    assert (Path(row["clip_dir"]) / "21.jpg").is_file()


def test_casme3_annotation_file_is_the_v2_sheet(small_root):
    path = small_root / "casme3" / "annotation" / "partA" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    sheet = read_sheet(path, "label", ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class",
                                       "emotion"])
    assert sheet.header == ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    assert sheet.rows[0][:3] == ["spNO.1", "a", 10] and sheet.row_numbers[0] == 2


def test_casme3_without_label_sheet_warns(tmp_path):
    recs = F.casme3_records(1)
    F.write_dataset(tmp_path, "casme3", recs)
    path = next((tmp_path / "casme3").rglob("*.xlsx"))
    sheet = read_sheet(path, "label", ["Subject"])
    write_xlsx(path, {"Sheet1": (sheet.header, sheet.rows)})
    res = load_dataset(tmp_path, "casme3")
    assert len(res.table) == len(recs)
    assert any("no sheet named 'label'" in p.message for p in _warnings(res))


# ----- CASME II --------------------------------------------------------------------------------------------------
def test_casme2_subject_folders_ids_and_slash_apex(small_root):
    res = load_dataset(small_root, "casme2")
    t = res.table
    assert _errors(res) == [] and len(t) == 9
    assert set(t["subject"]) == {"sub01", "sub02", "sub03"}
    assert "sub02/EP03_02" in set(t["sample_id"]) and "sub01/EP03_02" in set(t["sample_id"])  # clip names repeat
    row = t[t["sample_id"] == "sub02/EP03_02"].iloc[0]
    assert row["apex"] is None or str(row["apex"]) == "<NA>"
    warns = _warnings(res)
    assert len(warns) == 1 and warns[0].column == "ApexFrame" and warns[0].row == 6 and "'/'" in warns[0].message
    assert Path(t.iloc[0]["clip_dir"]) == small_root / "casme2" / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    assert (Path(t.iloc[0]["clip_dir"]) / "img40.jpg").is_file()
    assert set(t["fps"]) == {200.0}


def test_casme2_sheet_stores_subject_numbers_and_slash(small_root):
    wb = load_workbook(small_root / "casme2" / "CASME2-coding-20140508.xlsx", read_only=True)
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    assert rows[0] == ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                       "Estimated Emotion"]
    assert rows[1][0] == 1 and rows[5][3] == "/"


# ----- SAMM ------------------------------------------------------------------------------------------------------
def test_samm_preamble_subject_folders_and_missing_apex(small_root):
    path = small_root / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"
    sheet = read_sheet(path, None, ["Subject", "Filename", "Estimated Emotion"])
    assert sheet.header_row == 14  # the header sits below a 13-line text preamble, as in the release
    res = load_dataset(small_root, "samm")
    t = res.table
    assert _errors(res) == [] and len(t) == 9
    assert set(t["subject"]) == {"006", "007", "008"}
    assert t.iloc[0]["source_row"] == 15
    assert set(t["emotion"]) == {"anger", "happiness", "surprise", "contempt", "other", "disgust", "fear",
                                 "sadness"}
    row = t[t["sample_id"] == "007_2_5"].iloc[0]
    assert str(row["apex"]) == "<NA>"
    warns = _warnings(res)
    assert len(warns) == 1 and warns[0].column == "Apex Frame" and "-1" in warns[0].message
    first = t.iloc[0]
    assert Path(first["clip_dir"]) == small_root / "samm" / "SAMM" / "006" / "006_1_1"
    assert (Path(first["clip_dir"]) / "006_05560.jpg").is_file()


# ----- SMIC-HS ---------------------------------------------------------------------------------------------------
def test_smic_folder_tree_is_the_annotation(small_root):
    res = load_dataset(small_root, "smic")
    t = res.table
    assert _errors(res) == [] and len(t) == 9
    row = t[t["sample_id"] == "s2_sur_01"].iloc[0]
    assert (row["subject"], row["emotion"], row["fps"]) == ("s2", "surprise", 100.0)
    assert (row["onset"], row["offset"]) == (100210, 100212) and str(row["apex"]) == "<NA>"
    assert Path(row["clip_dir"]) == small_root / "smic" / "SMIC_all_raw" / "HS" / "s2" / "micro" / "surprise" / "s2_sur_01"
    assert (Path(row["clip_dir"]) / "image100211.bmp").is_file()


def test_smic_empty_clip_folder_is_reported(tmp_path):
    F.write_dataset(tmp_path, "smic", F.smic_records(1))
    empty = tmp_path / "smic" / "SMIC_all_raw" / "HS" / "s1" / "micro" / "positive" / "s1_po_09"
    empty.mkdir()
    res = load_dataset(tmp_path, "smic")
    assert len(res.table) == 3
    assert [p.file for p in _errors(res)] == [str(empty)]


def test_unknown_dataset_folder(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_dataset(tmp_path, "casme2")


# ----- official counts -------------------------------------------------------------------------------------------
def test_official_dfme_counts(official_root):
    t = load_dataset(official_root, "dfme", check_frames=False).table
    for split, (samples, subjects, per_class, per_fps) in F.DFME_OFFICIAL.items():
        part = t[t["split"] == split]
        assert (len(part), part["subject"].nunique()) == (samples, subjects)
        assert tuple(int((part["emotion"] == c).sum()) for c in F.DFME_CLASSES) == per_class
        assert tuple(int((part["fps"] == f).sum()) for f in F.DFME_FPS) == per_fps
    assert t.groupby("subject")["fps"].nunique().max() == 1  # fps names the sub-dataset
    assert t.groupby("subject")["split"].nunique().max() == 1  # subject-disjoint files
    assert t["sample_id"].is_unique and len(t) == 2629


def test_official_casme3_counts(official_root):
    res = load_dataset(official_root, "casme3", check_frames=False)
    t = res.table
    assert (len(t), t["subject"].nunique()) == (860, 94)
    assert Counter(t["emotion_raw"]) == F.CASME3_OFFICIAL_EMOTIONS
    assert Counter(t["emotion"])["others"] == 161
    assert t["sample_id"].is_unique and (t.groupby(["subject", "clip"]).size() > 1).any()
    assert _errors(res) == []


def test_official_casme2_samm_smic_counts(official_root):
    c2 = load_dataset(official_root, "casme2", check_frames=False).table
    assert (len(c2), c2["subject"].nunique()) == (255, 26)
    assert Counter(c2["emotion"]) == F.CASME2_OFFICIAL_EMOTIONS
    samm = load_dataset(official_root, "samm", check_frames=False).table
    assert len(samm) == 159
    assert Counter(samm["emotion_raw"]) == F.SAMM_OFFICIAL_EMOTIONS
    smic = load_dataset(official_root, "smic", check_frames=False).table
    assert (len(smic), smic["subject"].nunique()) == (164, 16)
    assert Counter(smic["emotion"]) == F.SMIC_OFFICIAL


# ----- harness data check ----------------------------------------------------------------------------------------
def _broken_root(root: Path) -> Path:
    """One data root with every kind of problem `data check` must find, spread over several datasets."""
    recs = [
        AnnotationRecord("spNO.1", "a", 10, 11, 14, "disgust", "4"),       # row 2: fine, but loses a frame
        AnnotationRecord("spNO.1", "b", 12, 11, 14, "happy", "12"),        # row 3: onset > apex
        AnnotationRecord("spNO.1", "c", 5, 9, 7, "surprise", "1"),         # row 4: apex after offset
        AnnotationRecord("spNO.2", "a", 5, 6, 7, "joy", "1"),              # row 5: unknown label
        AnnotationRecord("spNO.2", "b", 5, 6, 7, "fear", "1"),             # row 6
        AnnotationRecord("spNO.2", "b", 5, 6, 7, "fear", "1"),             # row 7: duplicate id
    ]
    F.write_dataset(root, "casme3", recs)
    (root / "casme3" / "part_A" / "spNO.1" / "a" / "color" / "12.jpg").unlink()
    F.write_dataset(root, "dfme", F.dfme_records({"train": 1, "test_A": 1, "test_B": 1}))
    (root / "dfme" / "testB_full_with_AU.xlsx").unlink()                    # missing annotation file
    F.write_dataset(root, "samm", F.samm_records())
    write_xlsx(root / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx",           # missing column
               {"MICRO_ONLY": (["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame"], [[6, "x", 1, 2, 3]])})
    F.write_dataset(root, "casme2", F.casme2_records())                     # clean (one '/' warning)
    return root


def test_data_check_reports_every_problem_in_one_run(tmp_path, capsys):
    root = _broken_root(tmp_path)
    rc = main(["data", "check", "--data-root", str(root), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    by = {d["dataset"]: d for d in out["datasets"]}
    assert set(by) == {"casme3", "dfme", "samm", "casme2"}
    c3 = {(p.get("row"), p.get("column")): p["message"] for p in by["casme3"]["problems"]}
    assert "frame(s) of 10..14 missing" in c3[(2, None)] and "first missing: 12" in c3[(2, None)]
    assert "apex 11 is outside onset..offset 12..14" in c3[(3, "apex")]
    assert "apex 9 is outside onset..offset 5..7" in c3[(4, "apex")]
    assert "unknown emotion 'joy'" in c3[(5, "emotion")]
    assert "duplicate sample id 'spNO.2_b_5' (first at row 6)" in c3[(7, None)]
    assert by["casme3"]["errors"] == 5
    assert any("no test_B annotation file" in p["message"] for p in by["dfme"]["problems"])
    assert by["samm"]["errors"] == 1 and "Estimated Emotion" in by["samm"]["problems"][0]["message"]
    assert by["casme2"]["errors"] == 0 and by["casme2"]["warnings"] == 1


def test_data_check_text_output_and_exit_codes(tmp_path, capsys):
    root = _broken_root(tmp_path / "broken")
    assert main(["data", "check", "--data-root", str(root)]) == 1
    text = capsys.readouterr()
    assert "casme3: 6 samples, 5 error(s)" in text.out
    assert "problem(s) found" in text.err
    clean = F.write_small_root(tmp_path / "clean", ("casme3", "smic"))
    assert main(["data", "check", "--data-root", str(clean)]) == 0
    assert "casme3: 21 samples, ok" in capsys.readouterr().out
    assert main(["data", "check", "--data-root", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["data", "check", "--data-root", str(tmp_path / "empty")]) == 2


def test_casme3_prefers_the_v2_annotation_file(tmp_path):
    recs = F.casme3_records(1)
    F.write_dataset(tmp_path, "casme3", recs)
    folder = tmp_path / "casme3" / "annotation" / "partA"
    # an older workbook beside it, whose name sorts first
    write_xlsx(folder / "cas(me)3_part_A_ME_label_JpgIndex.xlsx",
               {"label": (["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"],
                          [["spNO.1", "a", 10, 11, 12, "", "", "happy"]])})
    res = load_dataset(tmp_path, "casme3")
    assert [p.name for p in res.files] == ["cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"]
    assert len(res.table) == len(recs)


def test_data_check_dataset_option(tmp_path, capsys):
    root = F.write_small_root(tmp_path, ("casme2", "smic"))
    assert main(["data", "check", "--data-root", str(root), "--dataset", "smic", "--json"]) == 0
    assert [d["dataset"] for d in json.loads(capsys.readouterr().out)["datasets"]] == ["smic"]
    assert main(["data", "check", "--data-root", str(root), "--dataset", "casme"]) == 2
    assert "unknown dataset 'casme'; did you mean" in capsys.readouterr().err
    assert main(["data", "check", "--data-root", str(root), "--dataset", "samm"]) == 1  # folder missing
    assert "dataset folder" in capsys.readouterr().out


def test_smic_prefers_raw_frames_when_cropped_ones_sit_beside_them(tmp_path):
    """Both SMIC_all_raw and SMIC_all_cropped may be unpacked side by side; the raw release is the one to read."""
    import numpy as np

    from harness.datasets import load_dataset
    from harness.datasets.base import AnnotationRecord
    from harness.datasets.release import write_release

    rec = AnnotationRecord("s1", "s1_ne_01", 100, None, 104, "negative", "", 100)
    write_release(tmp_path / "smic", "smic", [rec], lambda r, i: np.zeros((8, 8, 3), np.uint8))
    cropped = tmp_path / "smic" / "SMIC_all_cropped" / "HS" / "s1" / "micro" / "negative" / "s1_ne_01"
    cropped.mkdir(parents=True)
    (cropped / "reg_image000100.bmp").write_bytes(b"not read")
    table = load_dataset(tmp_path, "smic").table
    assert table["clip_dir"].iloc[0].split("/")[-6] == "SMIC_all_raw"
