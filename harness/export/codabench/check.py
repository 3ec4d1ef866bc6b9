"""`harness export codabench --check BUNDLE`: a competition bundle validated rule by rule, before upload.

After the MLCommons submission checker: each rule is a small named check, every result is listed, a failed
check fails the whole (exit 1; an unreadable zip is bad input, exit 2). Warnings (a date Codabench needs but the
export was not given) are listed without failing. The last check runs the bundle's scoring program, in a local
stand-in for the compute worker, on each phase's own starting-kit template, filled and left empty.
"""
from __future__ import annotations

import json
import math
import shlex
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Callable

from harness.errors import HarnessError, Problem
from harness.export.codabench.archive import Archive, extract
from harness.export.codabench.schema import YAML_NAME, date_problems, field_problem, parse_date, schema_problems

MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".avi", ".mp4", ".mov", ".mkv",
                  ".npy", ".npz", ".mat", ".xlsx", ".xls"}   # frames, videos, arrays, annotation workbooks
APP_PROGRAM = "/app/program/"
LEGACY_ARGS = ([], ["/app/input", "/app/output"], ["/app/input/", "/app/output/"])


@dataclass
class CheckResult:
    name: str
    description: str
    status: str                 # pass | warn | fail | skip
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"check": self.name, "status": self.status, "description": self.description,
                "problems": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[["Bundle"], list[Problem]]


CHECKS: list[Check] = []


def check(name: str, description: str):
    def register(fn: Callable[["Bundle"], list[Problem]]):
        CHECKS.append(Check(name, description, fn))
        return fn
    return register


class Bundle:
    """The zip and what several checks read from it (parsed once)."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.doc: dict | None = None
        self._programs: dict[str, dict[str, bytes]] = {}
        self._references: dict[str, object] = {}

    def items(self, key: str) -> list[dict]:
        value = (self.doc or {}).get(key)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    @cached_property
    def tasks(self) -> dict[int, dict]:
        return {t["index"]: t for t in self.items("tasks") if isinstance(t.get("index"), int)}

    @cached_property
    def phases(self) -> list[dict]:
        return sorted(self.items("phases"), key=lambda p: p.get("index", 0) if isinstance(p.get("index"), int) else 0)

    @cached_property
    def columns(self) -> list[dict]:
        boards = self.items("leaderboards")
        cols = [c for c in boards[0].get("columns") or [] if isinstance(c, dict)] if boards else []
        return sorted(cols, key=lambda c: c.get("index") if isinstance(c.get("index"), int) else 0)

    @cached_property
    def programs(self) -> list[str]:
        """The scoring programs the tasks name (usually one, shared by every phase)."""
        return sorted({t["scoring_program"] for t in self.tasks.values() if isinstance(t.get("scoring_program"), str)})

    def phase_tasks(self) -> list[tuple[dict, dict]]:
        """(phase, task) for every task a phase names and the yaml defines."""
        return [(p, self.tasks[i]) for p in self.phases for i in p.get("tasks") or []
                if isinstance(i, int) and i in self.tasks]

    def program(self, path: str) -> dict[str, bytes]:
        if path not in self._programs:
            self._programs[path] = self.archive.folder(path)
        return self._programs[path]

    def protocol(self, program: str) -> dict:
        from harness.export.codabench.program import PROTOCOL_FILE

        data = self.program(program).get(PROTOCOL_FILE)
        if data is None:
            raise HarnessError(f"{program}/{PROTOCOL_FILE} is missing (it names the classes and the score keys)")
        return json.loads(data)

    def reference(self, task: dict):
        """The task's reference data as the scoring program reads it (program.read_reference)."""
        from harness.export.codabench.program import read_reference

        key = f"{task.get('scoring_program')}|{task.get('reference_data')}"
        if key not in self._references:
            classes = self.protocol(task["scoring_program"])["classes"]
            with tempfile.TemporaryDirectory() as tmp:
                extract(self.archive.folder(task["reference_data"]), Path(tmp))
                self._references[key] = read_reference(Path(tmp), classes)
        return self._references[key]


# ----- the checks, in the order they are listed -------------------------------------------------------------------
@check("bundle.layout", f"{YAML_NAME} is at the zip's root and parses; no member leaves the folder")
def _layout(b: Bundle) -> list[Problem]:
    import yaml

    a = b.archive
    out = [Problem(a.name, f"member {f!r} would be written outside the folder") for f in a.unsafe]
    if not a.is_file(YAML_NAME):
        nested = [f for f in a.files if PurePosixPath(f).name == YAML_NAME]
        return out + [Problem(a.name, f"no {YAML_NAME} at the root of the zip" + (f" (found {nested[0]})" if nested
                                                                                  else ""),
                              hint="zip the bundle's contents, not the folder holding them")]
    try:
        doc = yaml.safe_load(a.read(YAML_NAME))
    except yaml.YAMLError as exc:
        return out + [Problem(YAML_NAME, f"not valid YAML: {exc}")]
    if not isinstance(doc, dict):
        return out + [Problem(YAML_NAME, f"must be a mapping of fields, got {type(doc).__name__}")]
    b.doc = doc
    return out


@check("yaml.schema", "every field has Codabench's spelling and type; required ones are there")
def _schema(b: Bundle) -> list[Problem]:
    return schema_problems(b.doc)


@check("files.exist", "every file and folder the yaml names is in the zip, and the pages are not empty")
def _files(b: Bundle) -> list[Problem]:
    named = [("image", b.doc.get("image")), ("terms", b.doc.get("terms"))]
    named += [(f"pages[{i}].file", p.get("file")) for i, p in enumerate(b.items("pages"))]
    for key, items in (("tasks", ("scoring_program", "reference_data", "input_data", "ingestion_program")),
                       ("phases", ("starting_kit", "public_data"))):
        named += [(f"{key}[{i}].{f}", item.get(f)) for i, item in enumerate(b.items(key)) for f in items if f in item]
    out = []
    for where, path in named:
        if not isinstance(path, str):
            continue
        if not b.archive.exists(path):
            out.append(field_problem(where, f"names {path!r}, which is not in the zip"))
        elif (where == "terms" or where.startswith("pages")) and not b.archive.read(path).strip():
            out.append(field_problem(where, f"{path} is empty; Codabench refuses an empty page"))
    return out


@check("phases.tasks", "each phase points at defined tasks, and each task is used")
def _phase_tasks(b: Bundle) -> list[Problem]:
    out = []
    indices = [t.get("index") for t in b.items("tasks")]
    if len(indices) != len(set(map(str, indices))):
        out.append(field_problem("tasks", f"task indices repeat: {indices}"))
    used = set()
    for i, phase in enumerate(b.items("phases")):
        for t in phase.get("tasks") or []:
            used.add(t)
            if t not in b.tasks:
                out.append(field_problem(f"phases[{i}].tasks", f"task {t!r} is not defined under tasks"))
    out += [field_problem("tasks", f"task {t} is used by no phase", severity="warning") for t in b.tasks
            if t not in used]
    return out


@check("phases.dates", "dates parse, a phase ends after it starts, phases follow each other")
def _dates(b: Bundle) -> list[Problem]:
    return date_problems([(str(p.get("name")), parse_date(p.get("start")), parse_date(p.get("end")))
                          for p in b.phases])


@check("data.licensed", "no input or public data, frames, videos or annotation workbooks in the bundle")
def _licensed(b: Bundle) -> list[Problem]:
    out = [field_problem(f"{kind}[{i}].{key}", f"{item[key]!r}: the frames are licensed; participants obtain "
                         "them from the datasets' owners, not from the bundle")
           for kind, key in (("tasks", "input_data"), ("phases", "public_data"))
           for i, item in enumerate(b.items(kind)) if item.get(key)]
    logo = b.doc.get("image")
    out += [Problem(b.archive.name, f"{f}: looks like licensed data (frames, videos or annotations); the bundle "
                                    "must not carry it") for f in b.archive.files
            if PurePosixPath(f).suffix.lower() in MEDIA_SUFFIXES and f != logo]
    return out


@check("scoring.entry_point", "metadata.yaml's command runs python3 on a file of the scoring program")
def _entry_point(b: Bundle) -> list[Problem]:
    import yaml

    out = []
    for program in b.programs:
        files = b.program(program)
        meta = next((m for m in ("metadata.yaml", "metadata") if m in files), None)
        if meta is None:
            out.append(Problem(program, "no metadata.yaml: the compute worker would find no command to run"))
            continue
        try:
            command = (yaml.safe_load(files[meta]) or {}).get("command")
        except (yaml.YAMLError, AttributeError) as exc:
            out.append(Problem(f"{program}/{meta}", f"not a mapping with a command ({exc})"))
            continue
        argv = shlex.split(command) if isinstance(command, str) else []
        if len(argv) < 2 or PurePosixPath(argv[0]).name not in ("python", "python3"):
            out.append(Problem(f"{program}/{meta}", f"command {command!r} must be `python3 /app/program/<file> ...`"))
            continue
        if not argv[1].startswith(APP_PROGRAM) or argv[1][len(APP_PROGRAM):] not in files:
            out.append(Problem(f"{program}/{meta}", f"command runs {argv[1]!r}, which is not a file of {program} "
                                                    f"(mounted at {APP_PROGRAM})"))
        if argv[2:] not in LEGACY_ARGS:
            out.append(Problem(f"{program}/{meta}", f"command arguments {argv[2:]} are not the worker's mount points",
                               hint="none, or /app/input /app/output"))
    return out


@check("scoring.pure", "the scoring program parses as the image's Python and imports only the standard library, "
                       "numpy and its own files")
def _pure(b: Bundle) -> list[Problem]:
    from harness.export.codabench.packaging import purity_problems

    return [p for program in b.programs if b.archive.exists(program)
            for p in purity_problems(b.program(program), program)]


@check("leaderboard.matches_scorer", "the leaderboard's columns and rule are the scores the program writes, in "
                                     "the protocol's ranking order")
def _leaderboard(b: Bundle) -> list[Problem]:
    out = []
    keys = [c.get("key") for c in b.columns]
    rule = (b.items("leaderboards") or [{}])[0].get("submission_rule")
    for program in b.programs:
        info = b.protocol(program)
        want = [c["key"] for c in info["columns"]]
        if keys != want:
            out.append(field_problem("leaderboards[0].columns", f"keys {keys} (by index) differ from the scores "
                                     f"{program} writes, {want}",
                                     "index 0 must be the protocol's first ranking metric"))
        for col, spec in zip(b.columns, info["columns"]):
            if col.get("key") == spec["key"] and col.get("sorting", "desc") != spec["sorting"]:
                out.append(field_problem("leaderboards[0].columns", f"column {spec['key']} sorts "
                                         f"{col.get('sorting', 'desc')}, the metric wants {spec['sorting']}"))
        if rule != info["submission_rule"]:
            out.append(field_problem("leaderboards[0].submission_rule", f"{rule!r}, but the protocol keeps the "
                                     f"{info['keep']} submission ({info['submission_rule']})"))
    return out


@check("reference.phases", "each phase's reference data is that phase's, well formed, disjoint from the others")
def _references(b: Bundle) -> list[Problem]:
    out, seen_ids, seen_groups = [], {}, {}
    for phase, task in b.phase_tasks():
        name, ref_path = phase.get("name"), task.get("reference_data")
        if not isinstance(ref_path, str):
            out.append(field_problem(f"tasks[{task['index']}]", f"phase {name}: no reference_data to score against"))
            continue
        ref = b.reference(task)
        info = ref.phase
        if info.get("codabench_phase") != name:
            out.append(Problem(f"{ref_path}/phase.json", f"holds the labels of phase {info.get('codabench_phase')!r}, "
                                                         f"but phase {name!r} scores against it"))
        scorer = b.protocol(task["scoring_program"])
        if (info.get("protocol"), info.get("protocol_version")) != (scorer["protocol"], scorer["version"]):
            out.append(Problem(f"{ref_path}/phase.json", f"is for {info.get('protocol')} "
                                                         f"v{info.get('protocol_version')}, the scoring program for "
                                                         f"{scorer['protocol']} v{scorer['version']}"))
        if info.get("samples") != len(ref.ids):
            out.append(Problem(f"{ref_path}/phase.json", f"says {info.get('samples')} samples; reference.csv has "
                                                         f"{len(ref.ids)}"))
        for other, ids in seen_ids.items():
            shared = set(ref.ids) & ids
            if shared and other != ref_path:
                out.append(Problem(ref_path, f"shares {len(shared)} sample(s) with {other}, e.g. {sorted(shared)[0]}"))
            groups = set(ref.groups.tolist()) & seen_groups[other]
            if groups and other != ref_path:
                out.append(Problem(ref_path, f"shares {len(groups)} subject(s) with {other} (e.g. "
                                             f"{sorted(groups)[0]}); phases must be subject-disjoint"))
        seen_ids[ref_path], seen_groups[ref_path] = set(ref.ids), set(ref.groups.tolist())
    return out


@check("starting_kit.template", "each phase's template lists exactly its test samples, with nothing filled in")
def _templates(b: Bundle) -> list[Problem]:
    import csv
    import io

    from harness.export.codabench.pages import TEMPLATE

    out = []
    for phase, task in b.phase_tasks():
        kit = phase.get("starting_kit")
        if not isinstance(kit, str):
            out.append(Problem(YAML_NAME, f"phase {phase.get('name')}: no starting_kit (the template participants "
                                          "fill in)"))
            continue
        files = b.archive.folder(kit)
        if TEMPLATE not in files or not files.get("README.md", b"").strip():
            out.append(Problem(kit, f"needs {TEMPLATE} and a README.md"))
            continue
        rows = list(csv.reader(io.StringIO(files[TEMPLATE].decode("utf-8-sig"), newline="")))
        if not rows or rows[0] != ["sample_id", "prediction"]:
            out.append(Problem(f"{kit}/{TEMPLATE}", "header must be sample_id,prediction", row=1))
            continue
        ids = [r[0] for r in rows[1:] if r]
        if ids != b.reference(task).ids:
            out.append(Problem(f"{kit}/{TEMPLATE}", f"lists {len(ids)} ids, not the {len(b.reference(task).ids)} "
                                                    f"test samples of phase {phase.get('name')} in reference order"))
        filled = [n for n, r in enumerate(rows[1:], start=2) if len(r) > 1 and r[1].strip()]
        if filled:
            out.append(Problem(f"{kit}/{TEMPLATE}", f"{len(filled)} prediction(s) are filled in (first at row "
                                                    f"{filled[0]}); a template carries ids only"))
    return out


@check("scoring.runs", "in a stand-in compute worker, each phase scores its filled template and fails on the "
                       "empty one, writing no scores")
def _runs(b: Bundle) -> list[Problem]:
    from harness.export.codabench.pages import TEMPLATE
    from harness.export.codabench.schema import EXECUTION_TIME_LIMIT_S
    from harness.export.codabench.worker import run_scoring
    from harness.scoring.predictions import format_predictions

    out, keys = [], [c.get("key") for c in b.columns]
    for phase, task in b.phase_tasks():
        name = phase.get("name")
        classes = b.protocol(task["scoring_program"])["classes"]
        ids = b.reference(task).ids
        limit = phase.get("execution_time_limit") or EXECUTION_TIME_LIMIT_S
        cases = {"filled": format_predictions(ids, [classes[0]] * len(ids)),
                 "empty": format_predictions(ids, [""] * len(ids))}
        for case, text in cases.items():
            with tempfile.TemporaryDirectory() as tmp:
                run = run_scoring(b.archive, task["scoring_program"], task["reference_data"],
                                  {"predictions.csv": text.encode()}, Path(tmp), limit)
            where = f"phase {name}, {case} {TEMPLATE}"
            if case == "empty":
                if run.returncode == 0 or "scores.json" in run.outputs:
                    out.append(Problem(task["scoring_program"], f"{where}: accepted a file with no prediction "
                                                                f"(exit {run.returncode})"))
                elif "empty prediction" not in run.stderr:
                    out.append(Problem(task["scoring_program"], f"{where}: failed without the validation message: "
                                                                f"{run.stderr.strip()[-500:]}"))
                continue
            if run.returncode != 0:
                out.append(Problem(task["scoring_program"], f"{where}: exit {run.returncode}: "
                                                            f"{run.stderr.strip()[-500:]}"))
                continue
            try:
                scores = json.loads(run.outputs["scores.json"])
            except (KeyError, ValueError) as exc:
                out.append(Problem(task["scoring_program"], f"{where}: no readable scores.json ({exc})"))
                continue
            if list(scores) != keys:
                out.append(Problem(task["scoring_program"], f"{where}: scores.json keys {list(scores)} are not the "
                                                            f"leaderboard's {keys}"))
            bad = {k: v for k, v in scores.items() if not (isinstance(v, float) and math.isfinite(v) and 0 <= v <= 1)}
            if bad:
                out.append(Problem(task["scoring_program"], f"{where}: scores outside [0, 1]: {bad}"))
            if "detailed_results.html" not in run.outputs:
                out.append(Problem(task["scoring_program"], f"{where}: no detailed_results.html"))
    return out


# ----- running them -------------------------------------------------------------------------------------------------
def run_checks(path: str | Path) -> list[CheckResult]:
    """Every check on the bundle at `path` (BadInput when it is not a readable zip)."""
    with Archive.open(path) as archive:
        return _run(Bundle(archive))


def _run(b: Bundle) -> list[CheckResult]:
    results = []
    for c in CHECKS:
        if c.name != "bundle.layout" and b.doc is None:
            results.append(CheckResult(c.name, c.description, "skip",
                                       [Problem(b.archive.name, f"not run: {YAML_NAME} is unreadable")]))
            continue
        try:
            problems = c.run(b)
        except (HarnessError, KeyError, ValueError, TypeError) as exc:  # a part too broken to examine
            problems = [Problem(b.archive.name, f"could not be examined: {exc}")]
        errors = [p for p in problems if p.severity == "error"]
        status = "fail" if errors else "warn" if problems else "pass"
        results.append(CheckResult(c.name, c.description, status, problems))
    return results


def render_results(path: str | Path, results: list[CheckResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "warn", "fail", "skip")}
    lines = [f"{path}: {len(results)} checks: {counts['pass']} passed, {counts['warn']} with warnings, "
             f"{counts['fail']} failed" + (f", {counts['skip']} not run" if counts["skip"] else "")]
    width = max(len(r.name) for r in results)
    for r in results:
        lines.append(f"  {r.status.upper():4}  {r.name:{width}}  {r.description}")
        lines.extend(f"        - {p.render()}" for p in r.problems)
    return "\n".join(lines)
