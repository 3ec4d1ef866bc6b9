"""`harness export codabench --check`: it passes the exported bundles, and each named check fails on a bundle
broken the way it guards against (the table below covers every registered check)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.export.codabench.bundle import export_codabench
from harness.export.codabench.check import CHECKS, run_checks
from tests.export.conftest import CASES, rezip, unzip, zipped


@pytest.fixture(scope="module")
def dated(corpus, tmp_path_factory) -> Path:
    """The CCAC bundle with every date Codabench needs: a clean pass, no warning."""
    out = tmp_path_factory.mktemp("dated") / "ccac.zip"
    return export_codabench("ccac2024-dfme", out, data_root=corpus, starts=["test_A=2024-05-30", "test_B=2024-07-01"],
                            ends=["test_A=2024-06-30 23:59", "test_B=2024-07-05"]).path


def statuses(path: Path) -> dict[str, str]:
    return {r.name: r.status for r in run_checks(path)}


@pytest.mark.slow
def test_the_exported_bundles_pass(dated, bundles):
    assert statuses(dated) == {c.name: "pass" for c in CHECKS}
    for proto in CASES:
        results = {r.name: r for r in run_checks(bundles[proto])}
        assert list(results) == [c.name for c in CHECKS]
        assert all(r.status == "pass" for n, r in results.items() if n != "phases.dates")
        assert results["phases.dates"].status == "warn"   # no date given: Codabench needs a start per phase
        assert all("no start date" in p.message or "no end date" in p.message for p in results["phases.dates"].problems)


@pytest.mark.slow
def test_a_scoring_program_zipped_inside_the_bundle_passes(dated, tmp_path):
    """Codabench takes a folder or a .zip for a task's program; the checker reads both."""
    files = unzip(dated).files
    program = {n[len("scoring_program/"):]: d for n, d in files.items() if n.startswith("scoring_program/")}
    files = {n: d for n, d in files.items() if not n.startswith("scoring_program/")}
    files["scoring_program.zip"] = zipped(program)
    doc = yaml.safe_load(files["competition.yaml"])
    for task in doc["tasks"]:
        task["scoring_program"] = "scoring_program.zip"
    files["competition.yaml"] = yaml.safe_dump(doc, sort_keys=False).encode()
    assert statuses(rezip(files, tmp_path / "b.zip")) == {c.name: "pass" for c in CHECKS}


# ----- breakages -------------------------------------------------------------------------------------------------
def _yaml(edit):
    def mutate(files: dict[str, bytes]) -> None:
        doc = yaml.safe_load(files["competition.yaml"])
        edit(doc)
        files["competition.yaml"] = yaml.safe_dump(doc, sort_keys=False).encode()
    return mutate


def _replace(name: str, old: bytes, new: bytes):
    def mutate(files: dict[str, bytes]) -> None:
        assert old in files[name], (name, old)
        files[name] = files[name].replace(old, new)
    return mutate


def _drop(name: str):
    def mutate(files: dict[str, bytes]) -> None:
        del files[name]
    return mutate


def _add(name: str, data: bytes):
    def mutate(files: dict[str, bytes]) -> None:
        files[name] = data
    return mutate


def _nest(files: dict[str, bytes]) -> None:
    for name in list(files):
        files[f"ccac/{name}"] = files.pop(name)


def _leak_labels(files: dict[str, bytes]) -> None:
    ref = files["reference_data/test_A/reference.csv"].decode().splitlines()[1:]
    files["starting_kit/test_A/predictions_template.csv"] = (
        "sample_id,prediction\n" + "".join(f"{r.split(',')[0]},{r.split(',')[1]}\n" for r in ref)).encode()


def _share_a_sample(files: dict[str, bytes]) -> None:
    row = files["reference_data/test_A/reference.csv"].splitlines()[1]
    files["reference_data/test_B/reference.csv"] += row + b"\n"


BREAKAGES = [  # (what is broken, how, the check that must fail, a phrase of its report)
    ("no yaml at the root", _nest, "bundle.layout", "zip the bundle's contents"),
    ("yaml syntax", _add("competition.yaml", b"title: [unclosed\n"), "bundle.layout", "not valid YAML"),
    ("misspelt submission rule", _yaml(lambda d: d["leaderboards"][0].update(submission_rule="Force_best")),
     "yaml.schema", "did you mean 'Force_Best'"),
    ("misspelt limit", _yaml(lambda d: d["phases"][1].update(max_submission=3)), "yaml.schema",
     "unknown phase field 'max_submission'"),
    ("missing file", _drop("pages/terms.md"), "files.exist", "names 'pages/terms.md', which is not in the zip"),
    ("empty page", _add("pages/data.md", b"\n"), "files.exist", "Codabench refuses an empty page"),
    ("undefined task", _yaml(lambda d: d["phases"][1].update(tasks=[7])), "phases.tasks", "task 7 is not defined"),
    ("phases overlap", _yaml(lambda d: d["phases"][0].update(end="2024-07-02 00:00:00")), "phases.dates",
     "not after phase test_A ends"),
    ("frames in the bundle", _add("starting_kit/test_A/frames/sub0001_01/1.jpg", b"\xff\xd8"), "data.licensed",
     "looks like licensed data"),
    ("input data", _yaml(lambda d: d["tasks"][0].update(input_data="pages")), "data.licensed", "frames are licensed"),
    ("bad entry point", _replace("scoring_program/metadata.yaml", b"/app/program/score.py", b"/app/program/scorer.py"),
     "scoring.entry_point", "not a file of scoring_program"),
    ("entry file missing", _drop("scoring_program/score.py"), "scoring.entry_point", "not a file of scoring_program"),
    ("no metadata", _drop("scoring_program/metadata.yaml"), "scoring.entry_point", "no metadata.yaml"),
    ("an import the image lacks", _replace("scoring_program/harness/scoring/report.py", b"import numpy as np\n",
                                           b"import numpy as np\nimport pandas\n"), "scoring.pure", "imports 'pandas'"),
    ("a module left out", _drop("scoring_program/harness/scoring/bootstrap.py"), "scoring.pure",
     "imports 'harness.scoring.bootstrap'"),
    ("newer syntax", _add("scoring_program/harness/export/codabench/extra.py",
                          b"match x:\n    case 1:\n        pass\n"), "scoring.pure", "does not parse as Python 3.9"),
    ("wrong key", _yaml(lambda d: d["leaderboards"][0]["columns"][0].update(key="UF1")), "leaderboard.matches_scorer",
     "differ from the scores"),
    ("columns out of ranking order", _yaml(lambda d: [c.update(index=(1, 0, 2)[i]) for i, c in
                                                      enumerate(d["leaderboards"][0]["columns"])]),
     "leaderboard.matches_scorer", "differ from the scores"),
    ("rule against the protocol", _yaml(lambda d: d["leaderboards"][0].update(submission_rule="Force_Last")),
     "leaderboard.matches_scorer", "keeps the best submission"),
    ("swapped reference data", _yaml(lambda d: d["tasks"][0].update(reference_data="reference_data/test_B")),
     "reference.phases", "holds the labels of phase 'test_B'"),
    ("a sample in two phases", _share_a_sample, "reference.phases", "shares 1 sample(s)"),
    ("reference of another protocol", _replace("reference_data/test_B/phase.json", b'"protocol_version": "1.0"',
                                               b'"protocol_version": "0.9"'), "reference.phases",
     "is for ccac2024-dfme v0.9, the scoring program for ccac2024-dfme v1.0"),
    ("broken reference", _replace("reference_data/test_A/reference.csv", b"sample_id,class", b"id,class"),
     "reference.phases", "header must be sample_id,class,subject,dataset"),
    ("labels in the template", _leak_labels, "starting_kit.template", "prediction(s) are filled in"),
    ("template of another phase", lambda f: f.update({"starting_kit/test_A/predictions_template.csv":
                                                      f["starting_kit/test_B/predictions_template.csv"]}),
     "starting_kit.template", "not the 9 test samples of phase test_A"),
    ("a scorer that fills gaps", _replace("scoring_program/harness/export/codabench/program.py",
                                          b"preds = parse_predictions(path.read_bytes(),",
                                          b"preds = parse_predictions(path.read_bytes().replace(b',\\n', b',0\\n'),"),
     "scoring.runs", "accepted a file with no prediction"),
    ("a scorer that writes other keys", _replace("scoring_program/harness/export/codabench/program.py",
                                                 b'return Scored({c["key"]:', b'return Scored({c["key"].upper():'),
     "scoring.runs", "are not the leaderboard's"),
]


@pytest.mark.parametrize("what, mutate, failing, needle", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_each_check_fails_on_the_bundle_it_guards_against(what, mutate, failing, needle, dated, tmp_path,
                                                           monkeypatch):
    from harness.export.codabench import check

    # only the check under test (and the layout check, which reads the yaml the others need): the scoring runs
    # take a second a bundle
    monkeypatch.setattr(check, "CHECKS", [c for c in CHECKS if c.name in ("bundle.layout", failing)])
    files = unzip(dated).files
    mutate(files)
    results = {r.name: r for r in run_checks(rezip(files, tmp_path / "broken.zip"))}
    assert results[failing].status == "fail", (what, results[failing])
    text = " ".join(p.render() for p in results[failing].problems)
    assert needle in text, text


def test_every_check_is_proven_to_fail_by_some_breakage():
    assert {c.name for c in CHECKS} == {b[2] for b in BREAKAGES}


@pytest.mark.slow
def test_a_broken_bundle_exits_1_and_lists_the_failed_checks(dated, tmp_path, capsys):
    from harness.cli.main import main

    files = unzip(dated).files
    _drop("pages/terms.md")(files)
    path = rezip(files, tmp_path / "broken.zip")
    assert main(["export", "codabench", "--check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "FAIL  files.exist" in captured.out and "PASS  scoring.runs" in captured.out
    assert "1 check(s) failed: files.exist" in captured.err
