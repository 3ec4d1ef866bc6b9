"""The scoring program of an exported Codabench bundle: the platform runs it once per submission.

It is the project's own scorer, not a second one: `harness export codabench` packages this file beside
harness/errors.py, harness/registry.py and harness/scoring/{predictions,metrics,bootstrap,report}.py, so a submission is validated with
the rules and messages of `harness score` and scored by the same functions. It runs in the platform's plain
Python image, so it (and everything it imports) uses the standard library and numpy only.

Layout, as the compute worker mounts it: the phase's reference data in INPUT/ref (reference.csv: sample_id,
class, subject, dataset; phase.json), the participant's unzipped submission in INPUT/res (one CSV file; the
platform adds a `metadata` file there), results to OUTPUT. `score.py` runs with no argument (INPUT = /app/input,
OUTPUT = /app/output) or with the legacy two, `score.py INPUT OUTPUT`. On success OUTPUT gets scores.json (one
number per leaderboard column key), report.json (what `harness score --json` prints) and detailed_results.html;
on any problem it gets nothing, the reason goes to stderr and the exit code is non-zero, so the platform marks
the submission failed (failed submissions do not count against the limits).
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.errors import BadInput, HarnessError, Problem, ValidationFailed

APP_DIR = Path("/app")
PROTOCOL_FILE = "protocol.json"     # in the scoring program: classes, leaderboard columns, protocol identity
REFERENCE_FILE = "reference.csv"    # in each phase's reference data
PHASE_FILE = "phase.json"
REFERENCE_HEADER = ["sample_id", "class", "subject", "dataset"]
PLATFORM_FILES = {"metadata"}       # written into INPUT/res by the platform's prediction step
OUTPUT_FILES = ("detailed_results.html", "report.json", "scores.json")   # scores.json last: it marks success
USAGE = "usage: score.py [INPUT_DIR OUTPUT_DIR] (default /app/input /app/output)"


@dataclass
class Reference:
    """The held-out labels of one phase, in the order of reference.csv."""

    ids: list[str]
    labels: np.ndarray    # class indices in the protocol's order
    groups: np.ndarray    # bootstrap unit: dataset + "/" + subject, the rule of harness.protocols.task
    phase: dict


def read_reference(ref_dir: Path, classes: Sequence[str]) -> Reference:
    """Read and check the phase's reference data; a broken one is the organisers' to fix, and says so."""
    path = ref_dir / REFERENCE_FILE
    title = f"reference data {REFERENCE_FILE} is invalid (the competition bundle is broken: tell the organisers)"
    try:
        text = path.read_text(encoding="utf-8")
        phase = json.loads((ref_dir / PHASE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"cannot read the reference data in {ref_dir}: {exc} (the competition bundle is broken: "
                       "tell the organisers)") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or rows[0] != REFERENCE_HEADER:
        raise ValidationFailed([Problem(REFERENCE_FILE, f"header must be {','.join(REFERENCE_HEADER)}", row=1)], title)
    index = {c: i for i, c in enumerate(classes)}
    problems, ids, labels, groups, seen = [], [], [], [], set()
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(REFERENCE_HEADER):
            problems.append(Problem(REFERENCE_FILE, f"{len(row)} field(s), expected {len(REFERENCE_HEADER)}", row=n))
            continue
        sid, cls, subject, dataset = row
        if sid in seen:
            problems.append(Problem(REFERENCE_FILE, f"sample_id {sid!r} appears twice", row=n, column="sample_id"))
        if cls not in index:
            problems.append(Problem(REFERENCE_FILE, f"class {cls!r} is not one of the protocol's", row=n,
                                    column="class"))
        seen.add(sid)
        ids.append(sid)
        labels.append(index.get(cls, -1))
        groups.append(f"{dataset}/{subject}")
    if not ids:
        problems.append(Problem(REFERENCE_FILE, "no reference rows", row=2))
    if problems:
        raise ValidationFailed(problems, title)
    return Reference(ids, np.asarray(labels, dtype=np.int64), np.asarray(groups), phase)


def find_predictions(res_dir: Path) -> tuple[Path, str]:
    """The one CSV file of the submission (at any depth: a zipped folder is fine), and its name for messages."""
    if not res_dir.is_dir():
        raise BadInput(f"no submission folder {res_dir} (the platform mounts the unzipped submission there)")
    files = sorted(p for p in res_dir.rglob("*") if p.is_file() and not _ignored(p.relative_to(res_dir)))
    csvs = [p for p in files if p.suffix.lower() == ".csv"]
    names = [p.relative_to(res_dir).as_posix() for p in files]
    if not csvs:
        raise BadInput(f"the submission holds no CSV file (it holds: {', '.join(names) or 'nothing'}); zip your "
                       "predictions file alone, e.g. `zip submission.zip predictions.csv`")
    if len(csvs) > 1:
        shown = ", ".join(p.relative_to(res_dir).as_posix() for p in csvs)
        raise BadInput(f"the submission holds {len(csvs)} CSV files ({shown}); it must hold exactly one predictions "
                       "file")
    return csvs[0], csvs[0].relative_to(res_dir).as_posix()


def _ignored(rel: Path) -> bool:
    """The platform's own file and what archivers add (macOS resource forks, hidden files)."""
    return rel.as_posix() in PLATFORM_FILES or any(part.startswith(".") or part == "__MACOSX" for part in rel.parts)


@dataclass
class Scored:
    scores: dict      # leaderboard column key -> value
    report: dict      # the shape `harness score --json` prints
    source: str       # the predictions file, relative to INPUT/res


def score_submission(input_dir: Path, program_dir: Path) -> Scored:
    """Validate and score the submission in INPUT/res against the reference data in INPUT/ref."""
    from harness.scoring.predictions import parse_predictions
    from harness.scoring.report import build_report

    protocol = json.loads((program_dir / PROTOCOL_FILE).read_text(encoding="utf-8"))
    classes = protocol["classes"]
    ref = read_reference(input_dir / "ref", classes)
    path, name = find_predictions(input_dir / "res")
    preds = parse_predictions(path.read_bytes(), name, ref.ids, classes)
    metrics = protocol.get("metrics") or [c["key"] for c in protocol["columns"]]
    datasets = np.array([g.split("/", 1)[0] for g in ref.groups])   # groups are dataset/subject
    report = build_report(classes, ref.labels, [preds.pred], ref.groups, metrics=metrics, datasets=datasets,
                          part_titles=protocol.get("part_titles") or None)
    report["protocol"], report["protocol_version"] = protocol["protocol"], protocol["version"]
    report["phase"] = ref.phase.get("phase")
    return Scored({c["key"]: report["metrics"][c["key"]]["value"] for c in protocol["columns"]}, report, name)


def write_outputs(output_dir: Path, scored: Scored) -> None:
    """Every output rendered before the first is written, scores.json last: a failure leaves no scores."""
    from harness.export.codabench.detailed_results import render_html

    texts = {"detailed_results.html": render_html(scored.report, scored.source),
             "report.json": json.dumps(scored.report, indent=2), "scores.json": json.dumps(scored.scores)}
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_FILES:
        (output_dir / name).write_text(texts[name], encoding="utf-8")


def _dirs(argv: Sequence[str]) -> tuple[Path, Path]:
    if not argv:
        return APP_DIR / "input", APP_DIR / "output"
    if len(argv) == 2:
        return Path(argv[0]), Path(argv[1])
    raise BadInput(USAGE)


def main(argv: Sequence[str], program_dir: str | Path) -> int:
    """Score one submission; 0 and the outputs on success, the exit code of `harness score` otherwise."""
    try:
        input_dir, output_dir = _dirs(argv)
        scored = score_submission(input_dir, Path(program_dir))
        write_outputs(output_dir, scored)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    shown = ", ".join(f"{k} {v:.4f}" for k, v in scored.scores.items())
    print(f"scored {scored.source}: {scored.report['n_samples']} samples, K = {len(scored.report['classes'])}: {shown}")
    return 0
