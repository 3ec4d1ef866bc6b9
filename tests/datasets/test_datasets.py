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
    """Warnings other than 'these built-in errata do not apply': the small fixtures are not the real releases,
    so the CAS(ME)^3 and SAMM errata (tested in test_errata.py) find none of their rows there."""
    return [p for p in result.problems if p.severity == "warning" and not _not_this_release(p)]


def _not_this_release(p) -> bool:
    return p.message.startswith("errata ") and "not applicable: none of its" in p.message


def _notes(result):
    return [p for p in result.problems if p.severity == "note"]


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


def test_casme3_annotation_file_is_the_v2_sheet_with_text_cells_and_empty_sheets(small_root):
    path = small_root / "casme3" / "annotation" / "partA" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    sheet = read_sheet(path, "label", ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class",
                                       "emotion"])
    assert sheet.header == ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    assert sheet.rows[0][:5] == ["spNO.1", "a", "10", "11", "12"] and sheet.row_numbers[0] == 2  # text, as released
    wb = load_workbook(path, read_only=False)
    assert wb.sheetnames == ["label", "Sheet1", "Sheet3"]
    assert (wb["Sheet1"].max_row, wb["Sheet1"].max_column) == (434, 17)
    assert all(c.value is None for row in wb["Sheet1"].iter_rows() for c in row)
    assert wb["label"]["C2"].data_type == "s"
    wb.close()


def test_casme3_without_label_sheet_reads_the_sheet_with_the_header_and_warns(tmp_path):
    """The empty sheets come first here: the loader must not take the first sheet, but the one with the header."""
    recs = F.casme3_records(1)
    F.write_dataset(tmp_path, "casme3", recs)
    path = next((tmp_path / "casme3").rglob("*.xlsx"))
    sheet = read_sheet(path, "label", ["Subject"])
    write_xlsx(path, {"data": (sheet.header, sheet.rows)}, blank={"Sheet1": (434, 17), "Sheet3": (0, 0)})
    wb = load_workbook(path, read_only=True)
    wb.move_sheet("data", offset=2)
    wb.close()
    res = load_dataset(tmp_path, "casme3")
    assert len(res.table) == len(recs)
    assert any("no sheet named 'label'; read sheet 'data'" in p.message for p in _warnings(res))


# ----- CASME II --------------------------------------------------------------------------------------------------
def test_casme2_subject_folders_ids_and_slash_apex(small_root):
    res = load_dataset(small_root, "casme2")
    t = res.table
    assert _errors(res) == [] and len(t) == 9
    assert set(t["subject"]) == {"sub01", "sub02", "sub03"}
    assert "sub02/EP03_02" in set(t["sample_id"]) and "sub01/EP03_02" in set(t["sample_id"])  # clip names repeat
    row = t[t["sample_id"] == "sub02/EP03_02"].iloc[0]
    assert row["apex"] is None or str(row["apex"]) == "<NA>"
    notes = _notes(res)  # '/' is how the release writes an apex it did not code: a note, not a defect
    assert _warnings(res) == []
    assert len(notes) == 1 and notes[0].column == "ApexFrame" and notes[0].row == 6 and "'/'" in notes[0].message
    assert Path(t.iloc[0]["clip_dir"]) == small_root / "casme2" / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    assert (Path(t.iloc[0]["clip_dir"]) / "img40.jpg").is_file()
    assert set(t["fps"]) == {200.0}


def test_casme2_sheet_is_the_original_layout(small_root):
    """The 2014 original: 9 columns, C and G with a blank header, Subject a number, '/' for a missing apex."""
    wb = load_workbook(small_root / "casme2" / "CASME2-coding-20140508.xlsx", read_only=True)
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    assert rows[0] == ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                       "Estimated Emotion"]
    assert rows[1][0] == 1 and rows[5][4] == "/"


@pytest.mark.parametrize("layout, subject_as", [("original", "number"), ("original", "text"), ("resaved", "number"),
                                                ("resaved", "text")])
def test_casme2_layouts_and_subject_types_load_alike(tmp_path, layout, subject_as):
    from harness.datasets.adapters.casme2 import write_coding_sheet

    F.write_dataset(tmp_path, "casme2", F.casme2_records())
    path = tmp_path / "casme2" / "CASME2-coding-20140508.xlsx"
    write_coding_sheet(path, F.casme2_records(), layout, subject_as)
    wb = load_workbook(path, read_only=True)
    first = next(wb.worksheets[0].iter_rows(min_row=2, max_row=2, values_only=True))
    wb.close()
    assert first[0] == (1 if subject_as == "number" else "01")
    res = load_dataset(tmp_path, "casme2")
    assert _errors(res) == [] and _warnings(res) == []
    t = res.table
    assert t.iloc[0]["sample_id"] == "sub01/EP02_01f" and Path(t.iloc[0]["clip_dir"]).name == "EP02_01f"
    assert list(t["onset"]) == [40] * 9 and t["apex"].isna().sum() == 1


# ----- SAMM ------------------------------------------------------------------------------------------------------
def test_samm_preamble_subject_folders_and_missing_apex(small_root):
    path = small_root / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"
    sheet = read_sheet(path, None, ["Subject", "Filename", "Estimated Emotion"])
    assert sheet.header_row == 14  # the header sits below a 13-line text preamble, as in the release
    assert [r[0] for r in sheet.rows[:2]] == ["006", "006"]  # Subject is text in the release
    assert sheet.header == ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
                            "Duration", "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
    wb = load_workbook(path, read_only=True)
    preamble = [r[0] for r in wb["MICRO_ONLY"].iter_rows(max_row=13, values_only=True)]
    wb.close()
    assert {"Symbol Key", "AU Help"} <= set(preamble) and preamble[0].startswith("SAMM")
    res = load_dataset(small_root, "samm")
    t = res.table
    assert _errors(res) == [] and len(t) == 9
    assert set(t["subject"]) == {"006", "007", "008"}
    assert t.iloc[0]["source_row"] == 15
    assert set(t["emotion"]) == {"anger", "happiness", "surprise", "contempt", "other", "disgust", "fear",
                                 "sadness"}
    row = t[t["sample_id"] == "007_2_5"].iloc[0]
    assert str(row["apex"]) == "<NA>"
    notes = _notes(res)
    assert _warnings(res) == []
    assert len(notes) == 1 and notes[0].column == "Apex Frame" and "-1" in notes[0].message
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


# ----- harness data check ----------------------------------------------------------------------------------------
def _broken_root(root: Path) -> Path:
    """One data root with every kind of problem `data check` must find, spread over several datasets."""
    recs = [
        AnnotationRecord("spNO.1", "a", 10, 11, 14, "disgust", "4"),       # row 2: fine, but loses a frame
        AnnotationRecord("spNO.1", "b", 12, 11, 14, "happy", "12"),        # row 3: onset > apex (a warning)
        AnnotationRecord("spNO.1", "c", 5, 9, 7, "surprise", "1"),         # row 4: apex after offset (a warning)
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
    assert "apex outside onset..offset (onset 12, apex 11, offset 14)" in c3[(3, "apex")]
    assert "apex outside onset..offset (onset 5, apex 9, offset 7)" in c3[(4, "apex")]
    assert "unknown emotion 'joy'" in c3[(5, "emotion")]
    assert "duplicate sample id 'spNO.2_b_5' (first at row 6)" in c3[(7, None)]
    # 2 apexes outside onset..offset, and the built-in CAS(ME)^3 errata, which find none of their rows here
    assert (by["casme3"]["errors"], by["casme3"]["warnings"]) == (3, 3)
    assert any("no test_B annotation file" in p["message"] for p in by["dfme"]["problems"])
    assert by["samm"]["errors"] == 1 and "Estimated Emotion" in by["samm"]["problems"][0]["message"]
    assert (by["casme2"]["errors"], by["casme2"]["warnings"], by["casme2"]["notes"]) == (0, 0, 1)


def test_data_check_text_output_and_exit_codes(tmp_path, capsys):
    root = _broken_root(tmp_path / "broken")
    assert main(["data", "check", "--data-root", str(root)]) == 1
    text = capsys.readouterr()
    assert "casme3: 6 samples, 3 error(s), 3 warning(s)" in text.out
    assert "problem(s) found" in text.err
    clean = F.write_small_root(tmp_path / "clean", ("casme3", "smic"))
    assert main(["data", "check", "--data-root", str(clean)]) == 0
    assert "casme3: 21 samples, ok, 1 warning(s), 0 corrected, 0 note(s)" in capsys.readouterr().out  # errata n/a
    assert main(["data", "check", "--data-root", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["data", "check", "--data-root", str(tmp_path / "empty")]) == 2


def test_casme3_prefers_the_v2_annotation_file_and_says_so(tmp_path):
    recs = F.casme3_records(1)
    F.write_dataset(tmp_path, "casme3", recs)
    folder = tmp_path / "casme3" / "annotation" / "partA"
    # an older workbook beside it, whose name sorts first; Excel's lock file and the repository's list of V1 errors
    write_xlsx(folder / "cas(me)3_part_A_ME_label_JpgIndex.xlsx",
               {"label": (["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"],
                          [["spNO.1", "a", 10, 11, 12, "", "", "happy"]])})
    (folder / "~$cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx").write_bytes(b"lock")
    (folder / "CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx").write_bytes(b"not read")
    res = load_dataset(tmp_path, "casme3")
    assert [p.name for p in res.files] == ["cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"]
    assert len(res.table) == len(recs)
    (warning,) = _warnings(res)
    assert warning.file.endswith("_v2.xlsx") and "2 CAS(ME)^3 Part A annotation files" in warning.message
    assert "it has the release's own file name" in warning.message
    assert "cas(me)3_part_A_ME_label_JpgIndex.xlsx" in warning.message


def test_two_versions_of_a_sheet_without_the_release_name_warn_naming_both(tmp_path):
    F.write_dataset(tmp_path, "casme2", F.casme2_records())
    official = tmp_path / "casme2" / "CASME2-coding-20140508.xlsx"
    official.rename(tmp_path / "casme2" / "CASME2-coding-20190701.xlsx")
    write_xlsx(tmp_path / "casme2" / "CASME2-coding-updated.xlsx", {"Sheet1": (["Subject"], [[1]])})
    res = load_dataset(tmp_path, "casme2")
    (warning,) = _warnings(res)
    assert warning.file.endswith("CASME2-coding-20190701.xlsx")
    assert "no file has the release's own name (CASME2-coding-20140508.xlsx)" in warning.message
    assert "CASME2-coding-updated.xlsx" in warning.message
    assert len(res.table) == 9


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
