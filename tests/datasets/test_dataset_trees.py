"""Frames anywhere: every adapter follows symbolic links, survives link cycles and loops with an error naming the
link, and `harness data check` catches a frame file that is not an image, naming the file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.datasets import load_dataset
from harness.datasets.frames import FrameFileError, image_defect, list_frames
from tests import formats as F


def _errors(result):
    return [p for p in result.problems if p.severity == "error"]


@pytest.mark.parametrize("key, folder", [("dfme", "frames"), ("casme3", "part_A"), ("casme2", "CASME2_RAW_selected"),
                                         ("samm", "SAMM"), ("smic", "SMIC_all_raw")])
def test_frames_behind_a_symbolic_link_load_like_frames_in_place(tmp_path, key, folder):
    makers = {"dfme": F.dfme_records, "casme3": F.casme3_records, "casme2": F.casme2_records,
              "samm": F.samm_records, "smic": F.smic_records}
    root = tmp_path / "root"
    F.write_dataset(root, key, makers[key]())
    before = load_dataset(root, key).table
    F.move_behind_link(root / key / folder, tmp_path / "other-disk" / folder)
    res = load_dataset(root, key)
    assert _errors(res) == []
    after = res.table
    assert list(after["sample_id"]) == list(before["sample_id"]) and after["clip_dir"].notna().all()
    assert all(Path(d).resolve().is_relative_to((tmp_path / "other-disk").resolve()) for d in after["clip_dir"])


def test_dfme_frames_linked_per_subject_are_found_too(tmp_path):
    F.write_dataset(tmp_path / "root", "dfme", F.dfme_records())
    frames = tmp_path / "root" / "dfme" / "frames"
    for sub in sorted(frames.iterdir()):
        F.move_behind_link(sub, tmp_path / "disk" / sub.name)
    res = load_dataset(tmp_path / "root", "dfme")
    assert _errors(res) == [] and res.table["clip_dir"].notna().all()


def test_a_link_cycle_is_an_error_naming_the_link_and_the_rest_still_loads(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    loop = tmp_path / "dfme" / "frames" / "sub0001" / "back-to-frames"
    loop.symlink_to(tmp_path / "dfme" / "frames", target_is_directory=True)
    res = load_dataset(tmp_path, "dfme")
    (err,) = _errors(res)
    assert err.file == str(loop) and "symbolic link cycle" in err.message
    assert res.table["clip_dir"].notna().all() and len(res.table) == 49


def test_a_link_that_loops_on_itself_is_an_error_naming_it(tmp_path):
    F.write_dataset(tmp_path, "smic", F.smic_records(1))
    hs = tmp_path / "smic" / "SMIC_all_raw" / "HS"
    a, b = hs / "s9", hs / "s10"
    a.symlink_to(b)
    b.symlink_to(a)
    res = load_dataset(tmp_path, "smic")
    assert {p.file for p in _errors(res)} == {str(a), str(b)}
    assert all("symbolic link loop" in p.message for p in _errors(res))
    assert len(res.table) == 3


def test_a_frame_file_that_loops_is_an_error_naming_the_source_file(tmp_path, capsys):
    F.write_dataset(tmp_path, "casme3", F.casme3_records(1))
    clip = tmp_path / "casme3" / "part_A" / "spNO.1" / "a" / "color"
    (clip / "11.jpg").unlink()
    (clip / "11.jpg").symlink_to(clip / "99.jpg")
    (clip / "99.jpg").symlink_to(clip / "11.jpg")
    with pytest.raises(FrameFileError, match=r"11\.jpg|99\.jpg"):
        list_frames(clip)
    assert main(["data", "check", "--data-root", str(tmp_path), "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["datasets"]
    loops = [p for p in report["problems"] if "symbolic link loop" in p["message"]]
    assert loops and loops[0]["file"].startswith(str(clip)) and "'spNO.1_a_10'" in loops[0]["message"]
    assert "row 2" in loops[0]["message"] and "Errno" not in loops[0]["message"]


@pytest.mark.parametrize("content, why", [
    (b"this is not an image at all", "is not a JPG image"),
    (b"", "is empty"),
    ("truncate", "truncated JPEG"),
])
def test_data_check_catches_a_key_frame_that_is_not_a_whole_image(tmp_path, capsys, content, why):
    F.write_dataset(tmp_path, "casme2", F.casme2_records())
    frame = tmp_path / "casme2" / "CASME2_RAW_selected" / "sub01" / "EP02_01f" / "img41.jpg"  # the apex
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2] if content == "truncate" else content)
    assert main(["data", "check", "--data-root", str(tmp_path), "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["datasets"]
    (err,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert err["file"] == str(frame) and why in err["message"] and "'sub01/EP02_01f'" in err["message"]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp"])
def test_image_defect_accepts_whole_images_and_rejects_cut_ones(tmp_path, suffix):
    import numpy as np

    from harness.imageio import write_frame

    path = tmp_path / f"f{suffix}"
    write_frame(path, np.full((8, 8, 3), 90, np.uint8))
    assert image_defect(path) is None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    assert image_defect(path) is not None
    path.write_bytes(b"GIF89a" + data[6:])
    assert "is not a" in image_defect(path)


def test_casme3_upper_case_clip_reads_the_lower_case_folder_and_keeps_its_id(tmp_path):
    from harness.datasets.base import AnnotationRecord

    rec = AnnotationRecord("spNO.1", "J", 28, 33, 49, "happy", "24", 30, extra={"folder": "j"})
    F.write_dataset(tmp_path, "casme3", [rec])
    assert (tmp_path / "casme3" / "part_A" / "spNO.1" / "j" / "color" / "28.jpg").is_file()
    res = load_dataset(tmp_path, "casme3")
    assert _errors(res) == []
    row = res.table.iloc[0]
    assert row["sample_id"] == "spNO.1_J_28" and row["clip"] == "J" and Path(row["clip_dir"]).parent.name == "j"


def test_dfme_au_cells_are_numbers_or_text_and_load_as_written(tmp_path):
    from openpyxl import load_workbook

    recs = F.dfme_records({"train": 1, "test_A": 1, "test_B": 1})
    recs[0] = recs[0].__class__(**{**recs[0].__dict__, "aus": "4"})
    F.write_dataset(tmp_path, "dfme", recs)
    wb = load_workbook(tmp_path / "dfme" / "training_full_with_AU.xlsx", read_only=True)
    cells = [r[8] for r in wb.worksheets[0].iter_rows(min_row=2, max_row=3, values_only=True)]
    wb.close()
    assert cells == [4, "4+7"]  # an integer cell beside a text cell, as in the CCAC files
    t = load_dataset(tmp_path, "dfme").table
    assert list(t["aus"].head(2)) == ["4", "4+7"]


def test_walk_never_enters_a_cycle_and_reports_it_once(tmp_path):
    from harness.datasets.tree import walk

    root = tmp_path / "t"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "up").symlink_to(root / "a", target_is_directory=True)
    (root / "a" / "again").symlink_to(root / "a" / "b", target_is_directory=True)  # not a cycle: walked
    problems = []
    seen = [e.path.relative_to(root).as_posix() for e in walk(root, 10, problems)]
    assert seen == ["a", "a/again", "a/b"]  # the links back up are never entered
    assert [p.file for p in problems] == [str(root / "a" / "again" / "up"), str(root / "a" / "b" / "up")]
    assert os.path.islink(problems[0].file)
