"""What `harness export codabench` writes: the yaml (phases, limits, tasks, leaderboard) against Codabench's schema
and the protocol, the reference data against the Task API, the starting kit against `harness template`, and
the command line."""
from __future__ import annotations

import copy
import csv
import io
import json

import pytest
import yaml

from harness.cli.main import main
from harness.errors import BadInput, ValidationFailed
from harness.export.codabench.bundle import export_codabench
from harness.export.codabench.schema import schema_problems
from harness.protocols import get_protocol
from harness.protocols.task import build_task
from tests import formats as F
from tests.export.conftest import CASES, PHASES, unzip


# ----- the yaml ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("proto", CASES)
def test_the_yaml_round_trips_through_the_schema_of_the_fields_we_emit(proto, bundles):
    doc = unzip(bundles[proto]).yaml()
    assert schema_problems(doc) == []
    assert yaml.safe_load(yaml.safe_dump(doc, sort_keys=False)) == doc
    assert doc["version"] == 2 and doc["image"] == "logo.png" and doc["terms"] == "pages/terms.md"


def _set(doc, path, value):
    *parents, last = path
    for p in parents:
        doc = doc[p]
    if value is KeyError:
        del doc[last]
    else:
        doc[last] = value


@pytest.mark.parametrize("path, value, needle", [
    (("version",), 1, "version must be 2"),
    (("image",), KeyError, "missing required field 'image'"),
    (("phases", 0, "max_submission"), 3, "did you mean 'max_submissions'"),
    (("phases", 0, "max_submissions_per_day"), "1", "'max_submissions_per_day' must be int"),
    (("phases", 0, "max_submissions_per_day"), 0, "must be a positive integer"),
    (("phases", 0, "start"), "30/05/2024", "is not a date"),
    (("phases", 0, "tasks"), [], "'tasks' must be a non-empty list"),
    (("leaderboards", 0, "submission_rule"), "Force_best", "did you mean 'Force_Best'"),
    (("leaderboards", 0, "columns", 0, "sorting"), "descending", "sorting must be one of desc, asc"),
    (("leaderboards", 0, "columns", 0, "precision"), "4", "'precision' must be int"),
    (("leaderboards", 0, "columns", 1, "index"), 0, "column indices must be 0..2 once each"),
    (("leaderboards", 0, "columns", 1, "key"), "uf1", "column keys repeat"),
    (("leaderboards", 0, "columns", 0, "key"), "u" * 37, "Codabench stores at most 36"),
    (("tasks", 0, "scoring_program"), KeyError, "missing required field 'scoring_program'"),
    (("enable_detailed_results",), "yes", "'enable_detailed_results' must be bool"),
])
def test_the_schema_check_names_each_broken_field(path, value, needle, bundles):
    doc = copy.deepcopy(unzip(bundles["ccac2024-dfme"]).yaml())
    _set(doc, path, value)
    messages = [p.render() for p in schema_problems(doc)]
    assert any(needle in m for m in messages), messages


def test_ccac_phases_limits_and_leaderboard(bundles):
    proto = get_protocol("ccac2024-dfme")
    doc = unzip(bundles["ccac2024-dfme"]).yaml()
    a, b = doc["phases"]
    assert (a["name"], b["name"]) == ("test_A", "test_B")
    assert a["max_submissions_per_day"] == 1 and "max_submissions" not in a           # 1 per day
    assert b["max_submissions"] == 3 and "max_submissions_per_day" not in b          # 3 in total
    for entry, phase in ((a, proto.phases["test_A"]), (b, proto.phases["test_B"])):
        assert entry["description"].startswith(phase.description)
        assert not {"start", "end"} & set(entry)                                     # no date given, none written
        assert entry["execution_time_limit"] == 600 and entry["accepts_only_result_submissions"] is True
        task = doc["tasks"][entry["tasks"][0]]
        assert task["reference_data"] == f"reference_data/{entry['name']}"
        assert task["scoring_program"] == "scoring_program" and "input_data" not in task
        assert entry["starting_kit"] == f"starting_kit/{entry['name']}"
    (board,) = doc["leaderboards"]
    assert board["submission_rule"] == "Force_Best"   # leaderboard.keep: best
    assert [(c["key"], c["title"], c["index"], c["sorting"], c["precision"]) for c in board["columns"]] == [
        ("uf1", "UF1", 0, "desc", 4), ("uar", "UAR", 1, "desc", 4), ("acc", "ACC", 2, "desc", 4)]


def test_a_loso_protocol_is_one_phase_over_the_pooled_folds(bundles, corpus):
    doc = unzip(bundles["casme3-7class"]).yaml()
    (phase,) = doc["phases"]
    task = build_task(get_protocol("casme3-7class"), corpus, check_frames=False)
    assert phase["name"] == "loso" and f"over {task.table['group'].nunique()} subjects" in phase["description"]
    assert not {"max_submissions", "max_submissions_per_day"} & set(phase)   # the protocol sets none
    assert "Codabench's defaults" in phase["description"]
    assert doc["leaderboards"][0]["submission_rule"] == "Force_Last"       # leaderboard.keep: latest


def test_dates_are_written_only_when_given(corpus, tmp_path):
    out = export_codabench("ccac2024-dfme", tmp_path / "c.zip", data_root=corpus,
                           starts=["test_A=2024-05-30", "test_B=2024-07-01"], ends=["test_A=2024-06-30 23:59"])
    a, b = unzip(out.path).yaml()["phases"]
    assert (a["start"], a["end"], b["start"]) == ("2024-05-30 00:00:00", "2024-06-30 23:59:00", "2024-07-01 00:00:00")
    assert "end" not in b and out.warnings == [w for w in out.warnings if "official release" in w]
    single = export_codabench("casme3-7class", tmp_path / "k.zip", data_root=corpus, starts=["2025-01-01"])
    assert unzip(single.path).yaml()["phases"][0]["start"] == "2025-01-01 00:00:00"


@pytest.mark.parametrize("kwargs, error, needle", [
    ({"starts": ["2024-05-30"]}, BadInput, "name the phase (--start PHASE=DATE)"),
    ({"starts": ["test_C=2024-05-30"]}, BadInput, "did you mean"),
    ({"starts": ["test_A=30.05.2024"]}, BadInput, "is not a date"),
    ({"starts": ["test_A=2024-05-30", "test_A=2024-05-31"]}, BadInput, "given twice"),
    ({"starts": ["test_A=2024-06-01"], "ends": ["test_A=2024-05-01"]}, ValidationFailed, "ends (2024-05-01 00:00:00)"
                                                                                          " before it starts"),
    ({"ends": ["test_A=2024-07-02"], "starts": ["test_B=2024-07-01"]}, ValidationFailed, "not after phase test_A ends"),
    ({"phases": ["test_C"]}, BadInput, "did you mean"),
    ({"time_limit": 0}, BadInput, "--time-limit"),
])
def test_bad_options_write_nothing(kwargs, error, needle, corpus, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(error) as exc:
        export_codabench("ccac2024-dfme", out / "c.zip", data_root=corpus, **kwargs)
    assert needle in str(exc.value)
    assert not out.exists()


def test_an_unlabelled_data_root_cannot_be_exported(tmp_path):
    F.write_dataset(tmp_path, "dfme", F.dfme_records())
    F.strip_dfme_labels(tmp_path / "dfme", "test_B")
    with pytest.raises(BadInput, match="no reference labels for ccac2024-dfme test_B"):
        export_codabench("ccac2024-dfme", tmp_path / "c.zip", data_root=tmp_path)
    out = export_codabench("ccac2024-dfme", tmp_path / "a.zip", data_root=tmp_path, phases=["test_A"])
    assert [p["name"] for p in unzip(out.path).yaml()["phases"]] == ["test_A"]   # the labelled phase alone


# ----- reference data, starting kit --------------------------------------------------------------------------------
@pytest.mark.parametrize("proto, name, phase", PHASES)
def test_reference_data_are_the_task_test_rows(proto, name, phase, bundles, corpus):
    files = unzip(bundles[proto])
    test = build_task(get_protocol(proto), corpus, check_frames=False).test_table(phase)
    rows = list(csv.reader(io.StringIO(files.text(f"reference_data/{name}/reference.csv"))))
    assert rows[0] == ["sample_id", "class", "subject", "dataset"]
    assert rows[1:] == [[u, lab, str(s), d] for u, lab, s, d in
                        zip(test["uid"], test["label"], test["subject"], test["dataset"])]
    info = json.loads(files.files[f"reference_data/{name}/phase.json"])
    assert info == {"protocol": proto, "protocol_version": get_protocol(proto).version, "phase": phase,
                    "codabench_phase": name, "samples": len(test), "subjects": test["group"].nunique()}


@pytest.mark.parametrize("proto, name, phase", PHASES)
def test_the_starting_kit_template_is_harness_template(proto, name, phase, bundles, corpus, tmp_path, capsys):
    files = unzip(bundles[proto])
    out = tmp_path / "t.csv"
    assert main(["template", "-p", proto, *(["--phase", phase] if phase else []), "--data-root", str(corpus),
                 "-o", str(out)]) == 0
    assert files.files[f"starting_kit/{name}/predictions_template.csv"] == out.read_bytes()
    kit = {n for n in files.files if n.startswith(f"starting_kit/{name}/")}
    assert {f"starting_kit/{name}/example_bundle/bundle.yaml", f"starting_kit/{name}/example_bundle/model.py",
            f"starting_kit/{name}/README.md"} <= kit
    readme = files.text(f"starting_kit/{name}/README.md")
    flag = f" --phase {phase}" if phase else ""
    assert f"harness submit example_bundle -p {proto}{flag}" in readme
    assert f"{len(out.read_text().splitlines()) - 1} rows" in readme


@pytest.mark.parametrize("proto", CASES)
def test_held_out_labels_are_only_in_the_reference_data(proto, bundles, corpus):
    """No file a participant can download (starting kit, pages, scoring program) pairs a test id with its label."""
    files = unzip(bundles[proto]).files
    pairs = set()
    for name, data in files.items():
        if name.startswith("reference_data/") and name.endswith(".csv"):
            pairs |= {(r[0], r[1]) for r in list(csv.reader(io.StringIO(data.decode())))[1:]}
    assert pairs
    for name, data in files.items():
        if name.startswith("reference_data/") or name.endswith(".png"):
            continue
        text = data.decode("utf-8")
        leaked = [p for p in pairs if f"{p[0]},{p[1]}" in text or f"{p[0]}\t{p[1]}" in text]
        assert not leaked, (name, leaked[:3])


@pytest.mark.parametrize("proto", CASES)
def test_no_licensed_data_and_a_deterministic_zip(proto, bundles, corpus, tmp_path):
    names = unzip(bundles[proto]).files
    assert [n for n in names if n.rsplit(".", 1)[-1] in ("jpg", "png", "xlsx", "mp4")] == ["logo.png"]
    again = export_codabench(proto, tmp_path / "again.zip", data_root=corpus).path
    assert again.read_bytes() == bundles[proto].read_bytes()


# ----- the command line --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_export_and_check_from_the_command_line(corpus, tmp_path, capsys):
    out = tmp_path / "c.zip"
    assert main(["export", "codabench", "-p", "ccac2024-dfme", "--data-root", str(corpus), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "phases test_A" in captured.out and "has no start date" in captured.err
    assert main(["export", "codabench", "--check", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and {c["status"] for c in report["checks"]} == {"pass", "warn"}


@pytest.mark.parametrize("argv, needle", [
    (["--check", "c.zip", "-p", "ccac2024-dfme"], "takes no export option: drop -p"),
    (["-p", "ccac2024-dfme"], "give -p PROTOCOL and -o BUNDLE.zip"),
    (["-p", "ccac2024-dfme", "-o", "c.tar"], "a Codabench bundle is a .zip file"),
    (["--check", "missing.zip"], "no such file"),
])
def test_export_usage_errors_exit_2(argv, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "codabench", *argv]) == 2
    assert needle in capsys.readouterr().err


def test_check_of_a_file_that_is_not_a_zip_exits_2(tmp_path, capsys):
    bad = tmp_path / "c.zip"
    bad.write_text("not a zip")
    assert main(["export", "codabench", "--check", str(bad)]) == 2
    assert "not a readable zip file" in capsys.readouterr().err
