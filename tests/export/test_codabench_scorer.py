"""The bundle's scoring program, run the way Codabench's compute worker runs it, agrees with `harness score`.

The run is set up here by hand, independently of harness.export.codabench.worker: the bundle unzipped, its
scoring program in app/program (the working folder), the phase's reference data in app/input/ref, the
participant's unzipped submission in app/input/res beside the `metadata` file the platform leaves there, an
empty app/output; the command of metadata.yaml, with /app pointing at the test's folder and python3 being a
fresh interpreter that has numpy and nothing of the project (-I -S: no site-packages, no .pth files, so the
editable install of harness is not reachable; only a folder linking numpy is added to its path).
"""
from __future__ import annotations

import io
import json
import random
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from tests.export.conftest import PHASES, unzip, zipped

BOOT = ("import runpy, sys; sys.path.append(sys.argv[1]); sys.argv = sys.argv[2:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.fixture(scope="module")
def numpy_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("numpy-only")
    src = Path(np.__file__).resolve().parent
    for d in (src, src.with_name("numpy.libs")):
        if d.exists():
            (site / d.name).symlink_to(d, target_is_directory=True)
    return site


def bare_python(site: Path) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", BOOT, str(site)]


def platform_run(bundle: Path, phase: str, submission: dict[str, bytes], tmp: Path, site: Path):
    """(completed process, {output file: bytes}) of one scoring run, as the compute worker lays it out."""
    import yaml

    files = unzip(bundle).files
    doc = yaml.safe_load(files["competition.yaml"])
    entry = next(p for p in doc["phases"] if p["name"] == phase)
    task = next(t for t in doc["tasks"] if t["index"] == entry["tasks"][0])
    app = tmp / "app"
    for folder, prefix in (("program", task["scoring_program"]), ("input/ref", task["reference_data"])):
        for name, data in files.items():
            if name.startswith(prefix + "/"):
                target = app / folder / name[len(prefix) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    res = app / "input" / "res"
    res.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(zipped(submission))) as z:  # the participant's zip, unzipped
        z.extractall(res)
    (res / "metadata").write_text("exitCode: 0\nelapsedTime: 0.1\n")
    (app / "output").mkdir()
    command = yaml.safe_load((app / "program" / "metadata.yaml").read_text())["command"]
    argv = shlex.split(command.replace("/app", str(app)))
    assert argv[0] == "python3"
    proc = subprocess.run(bare_python(site) + argv[1:], cwd=app / "program", capture_output=True, text=True,
                          timeout=entry["execution_time_limit"], env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    out = app / "output"
    return proc, {p.name: p.read_bytes() for p in out.iterdir()}


def harness_score(proto: str, phase: str | None, corpus: Path, path: Path, capsys, monkeypatch) -> tuple[int, str, str]:
    """`harness score NAME ... --json` from the file's folder, so that messages name it as the platform does."""
    monkeypatch.chdir(path.parent)
    capsys.readouterr()
    rc = main(["score", path.name, "-p", proto, *(["--phase", phase] if phase else []), "--data-root", str(corpus),
               "--json"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def template_ids(bundle: Path, phase: str) -> list[str]:
    text = unzip(bundle).text(f"starting_kit/{phase}/predictions_template.csv")
    return [line.split(",")[0] for line in text.splitlines()[1:]]


def classes_of(bundle: Path) -> list[str]:
    return json.loads(unzip(bundle).files["scoring_program/protocol.json"])["classes"]


def assert_close(a, b, tol: float = 1e-12, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_close(a[k], b[k], tol, f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, tol, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= tol, f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ----- the interpreter ----------------------------------------------------------------------------------------------
def test_the_interpreter_has_numpy_and_nothing_of_the_project(numpy_site, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib.util, json\n"
                     "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in "
                     "['numpy', 'harness', 'yaml', 'pandas', 'tabulate', 'click', 'torch']}))\n")
    proc = subprocess.run(bare_python(numpy_site) + [str(probe)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"numpy": True, "harness": False, "yaml": False, "pandas": False,
                                       "tabulate": False, "click": False, "torch": False}


# ----- valid, malformed, absent class -------------------------------------------------------------------------------
@pytest.mark.parametrize("proto, name, phase", PHASES)
@pytest.mark.parametrize("with_proba", [False, True])
def test_a_valid_file_scores_exactly_as_harness_score(proto, name, phase, with_proba, bundles, corpus, numpy_site,
                                                      tmp_path, capsys, monkeypatch):
    ids, classes = template_ids(bundles[proto], name), classes_of(bundles[proto])
    rng = random.Random(f"{proto}{name}")
    rows = [(i, rng.choice(classes + [str(k) for k in range(len(classes))])) for i in ids]
    rng.shuffle(rows)  # any order
    header = "sample_id,prediction" + "".join(f",p_{c}" for c in classes) * with_proba
    lines = [header]
    for sid, pred in rows:
        p = np.random.default_rng(len(lines)).dirichlet(np.ones(len(classes)))
        lines.append(f"{sid},{pred}" + "".join(f",{x:.6f}" for x in p) * with_proba)
    data = ("\n".join(lines) + "\n").encode()
    proc, out = platform_run(bundles[proto], name, {"predictions.csv": data}, tmp_path, numpy_site)
    assert proc.returncode == 0, proc.stderr
    assert sorted(out) == ["detailed_results.html", "report.json", "scores.json"]

    (tmp_path / "predictions.csv").write_bytes(data)
    rc, stdout, _ = harness_score(proto, phase, corpus, tmp_path / "predictions.csv", capsys, monkeypatch)
    assert rc == 0
    ours = json.loads(stdout)
    scores = json.loads(out["scores.json"])
    assert list(scores) == ["uf1", "uar", "acc"]  # the leaderboard's column keys, in ranking order
    for key, value in scores.items():
        assert abs(value - ours["metrics"][key]["value"]) <= 1e-12
    assert_close(json.loads(out["report.json"]), ours)  # intervals, per class, confusion: the same report
    html = out["detailed_results.html"].decode()
    for row in ours["per_class"]:
        assert f"<td>{row['class']}</td><td>{row['precision']:.4f}</td>" in html
    assert f'<td class="hit">{ours["confusion"][0][0][0]}</td>' in html


@pytest.mark.parametrize("proto, name, phase", PHASES)
def test_a_malformed_file_fails_with_the_messages_of_harness_score_and_writes_no_scores(
        proto, name, phase, bundles, corpus, numpy_site, tmp_path, capsys, monkeypatch):
    ids, classes = template_ids(bundles[proto], name), classes_of(bundles[proto])
    rows = [f"{ids[0]},{classes[0]}", f"{ids[0]},{classes[1]}", "no-such-sample,anger", f"{ids[1]},joy",
            f"{ids[2]},{len(classes)}"]  # duplicate, unknown id, unknown class, index out of range; the rest missing
    data = ("sample_id,prediction\n" + "\n".join(rows) + "\n").encode()
    proc, out = platform_run(bundles[proto], name, {"predictions.csv": data}, tmp_path, numpy_site)
    (tmp_path / "predictions.csv").write_bytes(data)
    rc, _, err = harness_score(proto, phase, corpus, tmp_path / "predictions.csv", capsys, monkeypatch)
    assert rc == 2 and proc.returncode == 2
    assert proc.stderr.strip() == err.strip()
    for needle in ("appears again", "unknown sample_id 'no-such-sample'", "unknown class 'joy'", "out of range",
                   "have no prediction"):
        assert needle in proc.stderr
    assert out == {}  # no scores, no report


@pytest.mark.parametrize("proto, name, phase", PHASES)
def test_an_absent_class_keeps_k_fixed(proto, name, phase, bundles, corpus, numpy_site, tmp_path, capsys,
                                       monkeypatch):
    """Never predicting one class (and, on the small test_B, a class missing from the reference) leaves K at the
    protocol's: that class scores 0 and stays in the means."""
    classes = classes_of(bundles[proto])
    truth = [line.split(",")[:2] for line in unzip(bundles[proto]).text(f"reference_data/{name}/reference.csv")
             .splitlines()[1:]]
    # right wherever the truth is not the last class, which is never predicted
    data = ("sample_id,prediction\n" + "".join(f"{i},{c if c != classes[-1] else classes[0]}\n"
                                                for i, c in truth)).encode()
    proc, out = platform_run(bundles[proto], name, {"predictions.csv": data}, tmp_path, numpy_site)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out["report.json"])
    assert classes[-1] in report["never_predicted"] and len(report["per_class"]) == len(classes)
    f1 = [r["f1"] for r in report["per_class"]]
    assert sum(f1) > 0 and f1[-1] == 0.0
    recall = [r["recall"] for r in report["per_class"]]
    scores = json.loads(out["scores.json"])
    assert scores["uf1"] == pytest.approx(sum(f1) / len(classes), abs=1e-12)
    assert scores["uar"] == pytest.approx(sum(recall) / len(classes), abs=1e-12)
    if name == "test_B":
        assert report["absent"] == ["sadness"]  # the synthetic test_B has none
    (tmp_path / "predictions.csv").write_bytes(data)
    rc, stdout, _ = harness_score(proto, phase, corpus, tmp_path / "predictions.csv", capsys, monkeypatch)
    assert rc == 0 and abs(json.loads(stdout)["metrics"]["uf1"]["value"] - scores["uf1"]) <= 1e-12


# ----- what participants upload ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("proto, name, phase", PHASES)
def test_a_newcomer_fills_the_template_and_is_scored(proto, name, phase, bundles, numpy_site, tmp_path):
    """From the starting kit alone: the classes come from its README's table, the file from its template, the
    zip is made as the README says."""
    files = unzip(bundles[proto])
    readme = files.text(f"starting_kit/{name}/README.md")
    assert "zip submission.zip predictions.csv" in readme
    table = [line.split("|") for line in readme.splitlines() if line.startswith("| ") and line[2].isdigit()]
    classes = [cells[2].strip() for cells in table]
    assert classes == classes_of(bundles[proto])
    template = files.text(f"starting_kit/{name}/predictions_template.csv").splitlines()
    filled = [template[0]] + [f"{line}{classes[n % len(classes)].upper()}" for n, line in enumerate(template[1:])]
    proc, out = platform_run(bundles[proto], name, {"predictions.csv": ("\n".join(filled) + "\n").encode()},
                             tmp_path, numpy_site)
    assert proc.returncode == 0, proc.stderr
    assert f"{len(template) - 1} samples" in proc.stdout and "scores.json" in out


@pytest.mark.parametrize("submission, needle", [
    ({"team/predictions.csv": None}, None),                                          # a zipped folder
    ({"predictions.csv": None, "__MACOSX/._predictions.csv": b"\x00\x05"}, None),   # a macOS zip
    ({"a.csv": None, "b.csv": None}, "holds 2 CSV files (a.csv, b.csv)"),
    ({"predictions.txt": None}, "holds no CSV file (it holds: predictions.txt)"),
])
def test_what_the_submission_zip_holds(submission, needle, bundles, numpy_site, tmp_path):
    bundle = bundles["casme3-7class"]
    ids, classes = template_ids(bundle, "loso"), classes_of(bundle)
    valid = ("sample_id,prediction\n" + "".join(f"{i},{classes[0]}\n" for i in ids)).encode()
    proc, out = platform_run(bundle, "loso", {k: valid if v is None else v for k, v in submission.items()},
                             tmp_path, numpy_site)
    if needle is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2 and needle in proc.stderr and out == {}


def test_the_default_mount_points(bundles, tmp_path, monkeypatch):
    """With no argument the program reads /app/input and writes /app/output (here: APP_DIR moved to tmp)."""
    from harness.export.codabench import program

    files = unzip(bundles["casme3-7class"]).files
    for name, data in files.items():
        for prefix, dest in (("reference_data/loso/", "input/ref/"), ("scoring_program/", "program/")):
            if name.startswith(prefix):
                (tmp_path / dest / name[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / dest / name[len(prefix):]).write_bytes(data)
    (tmp_path / "input/res").mkdir()
    template = files["starting_kit/loso/predictions_template.csv"]
    (tmp_path / "input/res/p.csv").write_bytes(template.replace(b",\n", b",0\n"))
    monkeypatch.setattr(program, "APP_DIR", tmp_path)
    assert program.main([], tmp_path / "program") == 0
    assert (tmp_path / "output" / "scores.json").is_file()
    assert program.main(["only-one"], tmp_path / "program") == 2


def test_the_packaged_modules_are_the_projects_own(bundles):
    """Not a second scorer: every packaged harness module is byte-identical to this checkout's."""
    from harness.paths import REPO_ROOT

    files = unzip(bundles["ccac2024-dfme"]).files
    packaged = {n[len("scoring_program/"):]: d for n, d in files.items()
                if n.startswith("scoring_program/harness/")}
    assert "harness/scoring/predictions.py" in packaged and "harness/scoring/metrics.py" in packaged
    for name, data in packaged.items():
        assert data == (REPO_ROOT / name).read_bytes(), name


def test_detailed_results_escape_what_they_show():
    from harness.export.codabench.detailed_results import render_html
    from harness.scoring.report import build_report

    classes = ["<b>x</b>", "a&b"]
    report = build_report(classes, np.array([0, 1]), [np.array([0, 0])], np.array(["s1", "s2"]), draws=10)
    report.update(protocol="p<", protocol_version="1", phase=None)
    html = render_html(report, "<script>alert(1)</script>.csv")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "a&amp;b" in html
