"""Errata as data: the built-in files cover every contradicting row the reference lists, apply only where the row
holds the released value, keep sample ids, can be switched off or replaced, and a user's file is validated."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.datasets import load_dataset
from harness.datasets.errata import builtin_errata
from harness.datasets.policy import LoadOptions
from tests import official_releases as O

CASME3_SHEET = "annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"

# the reference's tables (real-annotation-files.md): sheet row -> (field, as released, MEB's value)
CASME3_REFERENCE = {
    (130, "Apex"): (83, 123), (751, "Onset"): (3647, 2647), (798, "Offset"): (0, 1845), (800, "Offset"): (0, 2403),
    (710, "Offset"): (3460, 34), (752, "Onset"): (0, 1), (752, "Apex"): (0, 1),
}
SAMM_REFERENCE = {(140, "Apex Frame"): (1143, 1105, 1124), (147, "Apex Frame"): (1930, 4945, 4930)}


def _by(problems, severity):
    return [p for p in problems if p.severity == severity]


def _casme3_root(tmp_path: Path, mutate=None) -> Path:
    """The real-composition CAS(ME)^3 annotation (no frames), optionally with its released rows changed."""
    released, _ = O.casme3_records()
    if mutate:
        released = mutate(list(released))
    O.write_release_fixture(tmp_path, "casme3", released)
    return tmp_path


# ----- the built-in files -------------------------------------------------------------------------------------------
def test_builtin_errata_cover_every_row_the_reference_lists():
    (casme3,) = builtin_errata("casme3")
    got = {(c.row, c.field): (int(c.released), int(c.corrected)) for c in casme3.corrections}
    assert got == CASME3_REFERENCE
    assert casme3.file == "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx" and casme3.sheet == "label"
    assert all("MEB" in c.source for c in casme3.corrections)
    identities = {c.row: c.identity for c in casme3.corrections}
    assert identities[130] == {"Subject": "spNO.149", "Filename": "d", "Onset": "112"}
    assert identities[751] == {"Subject": "spNO.216", "Filename": "d", "Onset": "3647"}  # the onset as released
    (samm,) = builtin_errata("samm")
    got = {(c.row, c.field): (int(c.released), int(c.corrected), int(c.alternatives[0]["value"]))
           for c in samm.corrections}
    assert got == SAMM_REFERENCE
    assert {c.identity["Filename"] for c in samm.corrections} == {"028_4_1", "032_3_1"}  # text, not octal 1689
    assert all("MEB" in c.source and "another public copy" in c.alternatives[0]["source"] for c in samm.corrections)
    assert any("row 148" in n for n in samm.notes) and any("'or'" in n for n in samm.notes)
    assert builtin_errata("dfme") == [] and builtin_errata("casme2") == [] and builtin_errata("smic") == []


def test_official_files_are_corrected_and_ids_stay_those_of_the_file_as_released(official_root):
    res = load_dataset(official_root, "casme3", check_frames=False)
    assert res.errata == ["casme3-partA-v2@1"]
    done = {(p.row, p.column) for p in _by(res.problems, "corrected")}
    assert done == set(CASME3_REFERENCE) and _by(res.problems, "warning") == []
    t = res.table.set_index("source_row")
    for (row, field), (_, value) in CASME3_REFERENCE.items():
        assert t.loc[row, field.lower()] == value
    assert t.loc[751, "sample_id"] == "spNO.216_d_3647" and t.loc[751, "onset"] == 2647
    assert t.loc[752, "sample_id"] == "spNO.216_e_0" and (t.loc[752, "onset"], t.loc[752, "apex"]) == (1, 1)
    assert t["defect"].isna().all()
    samm = load_dataset(official_root, "samm", check_frames=False)
    s = samm.table.set_index("sample_id")
    assert (s.loc["028_4_1", "apex"], s.loc["032_3_1", "apex"]) == (1105, 4945)
    assert samm.errata == ["samm-v2@1"]


# ----- applied only where the released value is ---------------------------------------------------------------------
def test_a_row_that_differs_from_the_released_value_is_left_alone_and_reported(tmp_path):
    def edit(rows):
        rows[128] = replace(rows[128], apex=84)  # sheet row 130: someone's copy with another apex
        return rows

    res = load_dataset(_casme3_root(tmp_path, edit), "casme3", check_frames=False)
    warning, policy = _by(res.problems, "warning")
    assert (warning.row, warning.column) == (130, "Apex")
    assert (policy.row, policy.column) == (130, "apex") and "apex treated as missing" in policy.message
    assert "not applicable: Apex is 84, the erratum corrects the released value 83; nothing changed" in warning.message
    t = res.table.set_index("source_row")
    assert str(t.loc[130, "apex"]) == "<NA>"  # 84 as written, before the onset: the policy drops it
    assert len(_by(res.problems, "corrected")) == 6  # the other corrections still apply


def test_a_copy_that_already_has_the_correction_gets_a_note(tmp_path):
    def edit(rows):
        rows[708] = replace(rows[708], offset=34)  # sheet row 710 already corrected
        return rows

    res = load_dataset(_casme3_root(tmp_path, edit), "casme3", check_frames=False)
    (note,) = _by(res.problems, "note")
    assert note.row == 710 and "Offset is already 34 in this copy" in note.message
    assert _by(res.problems, "warning") == []


def test_rows_that_moved_are_still_corrected_each_with_its_own_value(tmp_path):
    """Two rows inserted at the top: rows named by subject, clip and onset are found where they now are; the two
    offsets 0 of spNO.40 / e, named without an onset, are paired in sheet order, so each gets its own value."""
    def edit(rows):
        return [replace(rows[0], onset=900, apex=901, offset=905), replace(rows[0], onset=950, apex=951,
                                                                           offset=955)] + rows

    res = load_dataset(_casme3_root(tmp_path, edit), "casme3", check_frames=False)
    corrected = _by(res.problems, "corrected")
    assert {(p.row, p.column) for p in corrected} == {(r + 2, f) for r, f in CASME3_REFERENCE}
    assert all("the erratum names row" in p.message for p in corrected)
    t = res.table.set_index("sample_id")
    assert (t.loc["spNO.40_e_1800", "offset"], t.loc["spNO.40_e_2350", "offset"]) == (1845, 2403)
    assert _by(res.problems, "warning") == []


def test_rows_the_erratum_cannot_tell_apart_are_left_alone(tmp_path):
    """A third offset 0 in spNO.40 / e: three candidates for two corrections named by sheet row only; after rows
    moved nothing says which is which, so nothing changes (and the policy excludes the three)."""
    def edit(rows):
        rows[797] = replace(rows[797], offset=0)  # sheet row 799, between the two (800 after the insert below)
        return [replace(rows[0], onset=900, apex=901, offset=905)] + rows

    res = load_dataset(_casme3_root(tmp_path, edit), "casme3", check_frames=False)
    warnings = [w for w in _by(res.problems, "warning") if "cannot tell which" in w.message]
    assert {w.row for w in warnings} == {798, 800}
    t = res.table
    assert (t["defect"] == "casme3: key frames contradict (offset is 0)").sum() == 3


# ----- switching off, replacing, validating -------------------------------------------------------------------------
def test_no_errata_leaves_the_defects_to_the_policy(official_root, capsys):
    res = load_dataset(official_root, "casme3", check_frames=False, options=LoadOptions(errata=False))
    assert res.errata == [] and _by(res.problems, "corrected") == []
    t = res.table.set_index("source_row")
    assert t.loc[751, "defect"] == "casme3: key frames contradict (onset after offset)"
    assert t.loc[798, "defect"] == t.loc[800, "defect"] == "casme3: key frames contradict (offset is 0)"
    assert str(t.loc[130, "apex"]) == "<NA>"  # apex before onset: treated as missing
    assert main(["protocols", "show", "casme3-7class", "--data-root", str(official_root), "--no-errata",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["errata"] == {"casme3": "none"} and out["splits"]["all"]["samples"] == 857
    assert {e["reason"]: e["count"] for e in out["excluded"]} == {
        "casme3: key frames contradict (offset is 0)": 2, "casme3: key frames contradict (onset after offset)": 1}
    assert "all: samples 857 (official release: 860)" in out["official_count_differences"]


def test_a_users_errata_file_replaces_the_builtin_one_of_its_dataset(official_root, tmp_path, capsys):
    mine = tmp_path / "my-samm.yaml"
    mine.write_text("""
errata: samm-other-copy
version: 3
dataset: samm
file: SAMM_Micro_FACS_Codes_v2.xlsx
corrections:
  - {row: 140, identity: {Subject: 028, Filename: 028_4_1}, field: Apex Frame, released: 1143, corrected: 1124,
     source: another public copy}
  - {row: 147, identity: {Subject: 032, Filename: 032_3_1}, field: Apex Frame, released: 1930, corrected: 4930,
     source: another public copy}
""", encoding="utf-8")
    opts = LoadOptions(errata_files=(mine,))
    samm = load_dataset(official_root, "samm", check_frames=False, options=opts)
    s = samm.table.set_index("sample_id")
    assert (s.loc["028_4_1", "apex"], s.loc["032_3_1", "apex"]) == (1124, 4930)
    assert samm.errata[0].startswith("samm-other-copy@3 (user file my-samm.yaml, sha256 ")
    assert load_dataset(official_root, "casme3", check_frames=False, options=opts).errata == ["casme3-partA-v2@1"]
    assert main(["data", "check", "--data-root", str(official_root), "--dataset", "samm", "--errata", str(mine)]) == 0
    assert "2 corrected by samm-other-copy@3" in capsys.readouterr().out


@pytest.mark.parametrize("text, where, needle", [
    ("errata: x\nversion: 1\ndataset: samm\nfile: a.xlsx\n", "key 'corrections'", "missing field"),
    ("errata: x\nversion: 1\ndataset: sam\nfile: a.xlsx\ncorrections: []\n", "key 'dataset'",
     "unknown dataset 'sam'"),
    ("errata: x\nversion: 1\ndataset: samm\nfile: a.xlsx\ncorrections:\n  - {identity: {Filename: a}, field: F,\n"
     "     released: 1, corrected: 2, source: me}\n  - {row: -3, identity: {Filename: a}, field: F, released: 1,\n"
     "     corrected: 2, source: me}\n", "row 8, key 'corrections[1].row'", "row must be a sheet row number"),
    ("errata: x\nversion: 1\ndataset: samm\nfile: a.xlsx\ncorrections:\n  - {row: 3, field: F, released: 1,\n"
     "     corrected: 2, source: me}\n", "row 6, key 'corrections[0].identity'", "missing field"),
    ("errata: x\nversion: 1\ndataset: samm\nfile: a.xlsx\ncorrections:\n  - {row: 3, identity: {Filename: a},\n"
     "     field: F, released: 1, corrected: 1, source: me}\n", "corrections[0].corrected",
     "released and corrected values are the same"),
    ("errata: [unclosed\n", "", "not valid YAML"),
])
def test_a_users_errata_file_is_validated_naming_file_line_and_field(tmp_path, capsys, text, where, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    F_root = tmp_path / "root"
    (F_root / "samm").mkdir(parents=True)
    assert main(["data", "check", "--data-root", str(F_root), "--errata", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and needle in err and where in err


def test_two_errata_files_for_one_dataset_are_refused(tmp_path, capsys):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("errata: x\nversion: 1\ndataset: samm\nfile: f.xlsx\ncorrections: []\n")
    assert main(["data", "check", "--data-root", str(tmp_path), "--errata", str(tmp_path / "a.yaml"),
                 "--errata", str(tmp_path / "b.yaml")]) == 2
    assert "both name dataset 'samm'" in capsys.readouterr().err


def test_strict_turns_every_warning_into_an_error(official_root, tmp_path, capsys):
    def edit(rows):
        rows[128] = replace(rows[128], apex=84)
        return rows

    root = _casme3_root(tmp_path, edit)
    shutil.copytree(official_root / "casme3" / "part_A", root / "casme3" / "part_A")
    assert main(["data", "check", "--data-root", str(root)]) == 0
    capsys.readouterr()
    assert main(["data", "check", "--data-root", str(root), "--strict", "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["datasets"]
    # row 130 as edited: the erratum does not apply, and its apex before the onset is then a defect
    assert (report["errors"], report["warnings"], report["corrected"]) == (2, 0, 6)
    res = load_dataset(root, "casme3", options=LoadOptions(strict=True))
    errors = _by(res.problems, "error")
    assert errors and all("an error under --strict" in e.hint for e in errors)
    assert _by(res.problems, "corrected")  # corrections stay corrections
    assert main(["protocols", "show", "casme3-7class", "--data-root", str(root), "--strict"]) == 2


def test_fingerprint_and_provenance_name_the_errata(official_root, tmp_path, capsys):
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.evaluate.fingerprint import data_fingerprint

    proto = get_protocol("megc2019-composite")
    on = build_task(proto, official_root, check_frames=False)
    off = build_task(proto, official_root, check_frames=False, options=LoadOptions(errata=False))
    assert on.errata_versions() == {"casme2": "none", "samm": "samm-v2@1", "smic": "none"}
    assert off.errata_versions()["samm"] == "none"
    assert data_fingerprint(on) != data_fingerprint(off)
    # the same corrections under another errata name and version: same values, yet other data by its errata
    from harness.datasets.errata import BUILTIN_DIR

    copy = tmp_path / "samm-copy.yaml"
    copy.write_text((BUILTIN_DIR / "samm-v2.yaml").read_text().replace("version: 1", "version: 2"))
    same = build_task(proto, official_root, check_frames=False, options=LoadOptions(errata_files=(copy,)))
    assert same.table["apex"].equals(on.table["apex"]) and data_fingerprint(same) != data_fingerprint(on)
    preds = tmp_path / "p.csv"
    assert main(["template", "-p", "megc2019-composite", "--data-root", str(official_root), "-o", str(preds)]) == 0
    lines = preds.read_text().splitlines()
    preds.write_text("\n".join([lines[0], *[f"{line.split(',')[0]},negative" for line in lines[1:]]]) + "\n")
    assert main(["score", str(preds), "-p", "megc2019-composite", "--data-root", str(official_root), "--record",
                 "--team", "t", "--system", "s", "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["submission_id"]
    from harness.store.db import open_store

    with open_store() as store:
        prov = store.get_submission(sid).provenance
    assert prov["errata"] == {"casme2": "none", "samm": "samm-v2@1", "smic": "none"}
    assert prov["data_options"] == {"builtin_errata": True, "errata_files": [], "strict": False}
    assert ["casme2: not in the MEGC2019 ground-truth list", 2] in [list(e) for e in prov["excluded"]]
