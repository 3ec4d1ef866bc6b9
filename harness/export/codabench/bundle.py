"""Protocol + labelled data root -> a Codabench competition bundle (`competition.yaml` version 2, zipped).

The bundle holds: the yaml (phases with the protocol's limits and descriptions, one task per phase, one
leaderboard whose columns are the protocol's metrics in ranking order), the scoring program (the project's own
validation and metric modules, packaged), each phase's reference data (held-out labels in the smallest form the
scorer needs), each phase's starting kit (template, README, the smallest example bundle), pages, terms and a
logo. No input data: the frames are licensed, participants obtain them from the datasets' owners.

The reference data come from the Task API, the same rows `harness score` scores against. The zip is
deterministic (sorted members, fixed timestamps): the same protocol, data and options give the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from harness.errors import BadInput, CheckFailed, ValidationFailed
from harness.export.codabench import pages
from harness.export.codabench.phase import PhaseExport
from harness.export.codabench.packaging import program_files, purity_problems
from harness.export.codabench.program import PHASE_FILE, REFERENCE_FILE, REFERENCE_HEADER
from harness.export.codabench.schema import (COLUMN_PRECISION, DOCKER_IMAGE, EXECUTION_TIME_LIMIT_S, KEEP_TO_RULE,
                                             VERSION, YAML_NAME, date_problems, format_date)
from harness.protocols.model import Limits, Protocol

EXAMPLE_BUNDLE = "sanity-majority"     # the smallest shipped bundle, copied into every starting kit
LOSO_PHASE = "loso"                    # the one phase of a leave-one-subject-out protocol
LOGO = "logo.png"
PROGRAM_DIR = "scoring_program"
REFERENCE_DIR = "reference_data"
KIT_DIR = "starting_kit"
PAGE_FILES = (("Overview", "pages/overview.md"), ("Evaluation", "pages/evaluation.md"), ("Data", "pages/data.md"),
              ("Terms", "pages/terms.md"))
TERMS = "pages/terms.md"
LEADERBOARD = {"title": "Results", "key": "main"}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class Export:
    path: Path
    files: dict[str, bytes]
    phases: list[PhaseExport]
    columns: list[dict]
    warnings: list[str] = field(default_factory=list)


# ----- options --------------------------------------------------------------------------------------------------
def select_phases(proto: Protocol, requested: Sequence[str]) -> list[str | None]:
    """The protocol's phases to export, in the protocol's order (all by default; None is the LOSO phase)."""
    if not requested:
        return proto.board_names()
    wanted = {proto.check_phase(p) for p in requested}
    return [p for p in proto.board_names() if p in wanted]


def phase_name(phase: str | None) -> str:
    return phase or LOSO_PHASE


def parse_dates(values: Sequence[str], names: Sequence[str], option: str) -> dict[str, dt.datetime]:
    """`PHASE=DATE` options (the phase may be left out when the bundle has one); DATE is UTC."""
    from harness.registry import suggest

    out: dict[str, dt.datetime] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep:
            if len(names) != 1:
                raise BadInput(f"{option} {value}: name the phase ({option} PHASE=DATE); this bundle has phases "
                               f"{', '.join(names)}")
            name, text = names[0], value
        if name not in names:
            raise BadInput(f"{option} {value}: {suggest(name, list(names), 'phase')}")
        try:
            when = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise BadInput(f"{option} {value}: {text!r} is not a date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM[:SS]', UTC)") from None
        if name in out:
            raise BadInput(f"{option} is given twice for phase {name}")
        out[name] = when.replace(tzinfo=None)
    return out


# ----- the parts ------------------------------------------------------------------------------------------------
def leaderboard_columns(proto: Protocol) -> list[dict]:
    """The protocol's metrics in ranking order (index 0 ranks); the keys are what scores.json writes."""
    from harness.scoring.metrics import METRICS

    return [{"title": METRICS.get(m).title, "key": m, "index": i,
             "sorting": "desc" if METRICS.get(m).higher_is_better else "asc", "precision": COLUMN_PRECISION}
            for i, m in enumerate(proto.metric_columns())]


def protocol_info(proto: Protocol, columns: Sequence[dict]) -> dict:
    """protocol.json of the scoring program: what it needs to score, and what the checker compares."""
    from harness import __version__

    return {"protocol": proto.name, "version": proto.version, "title": proto.title, "classes": list(proto.classes),
            "metrics": list(proto.metrics),
            "part_titles": proto.part_titles(),   # a multi-dataset protocol's per-dataset parts, as `harness score`
            "columns": [{"key": c["key"], "title": c["title"], "sorting": c["sorting"]} for c in columns],
            "keep": proto.board_keep, "submission_rule": KEEP_TO_RULE[proto.board_keep],
            "exported_by": f"harness {__version__}"}


def plan_phases(proto: Protocol, task, selected: Sequence[str | None], starts: dict, ends: dict) -> list[PhaseExport]:
    out = []
    for phase in selected:
        test = task.test_table(phase)
        if test["label"].isna().any():
            raise BadInput(f"the data root has no reference labels for {proto.name} {phase or ''}: "
                           f"{int(test['label'].isna().sum())} test samples are unlabelled (export from the "
                           "organisers' data root, which holds the labelled test files)")
        rows = tuple(zip(test["uid"].astype(str), test["label"].astype(str), test["subject"].astype(str),
                         test["dataset"].astype(str)))
        n_subjects = int(test["group"].nunique())
        name = phase_name(phase)
        if phase is None:
            description = (f"Leave-one-subject-out over {n_subjects} subjects: predict every sample with the model "
                           "trained without its subject; scored once on all folds pooled.")
            limits = Limits()
        else:
            description, limits = proto.phases[phase].description, proto.phases[phase].limits
        out.append(PhaseExport(name, phase, description, limits, starts.get(name), ends.get(name), rows, n_subjects))
    return out


def reference_csv(rows: Sequence[tuple[str, str, str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REFERENCE_HEADER)
    w.writerows(rows)
    return buf.getvalue().encode()


def competition_yaml(proto: Protocol, phases: Sequence[PhaseExport], columns: list[dict], title: str,
                     docker_image: str, time_limit: int) -> dict:
    yaml_phases, tasks = [], []
    for i, p in enumerate(phases):
        entry: dict = {"index": i, "name": p.name,
                       "description": " ".join(filter(None, [p.description, pages.limits_text(p)]))}
        if p.start:
            entry["start"] = format_date(p.start)
        if p.end:
            entry["end"] = format_date(p.end)
        if p.limits.per_team_per_day:
            entry["max_submissions_per_day"] = p.limits.per_team_per_day
        if p.limits.per_team_total:
            entry["max_submissions"] = p.limits.per_team_total
        entry.update({"execution_time_limit": time_limit, "accepts_only_result_submissions": True,
                      "starting_kit": f"{KIT_DIR}/{p.name}", "tasks": [i]})
        yaml_phases.append(entry)
        tasks.append({"index": i, "name": f"{proto.name} {p.name}",
                      "description": f"Scores a predictions file of the {len(p.rows)} test samples of {p.name} "
                                     f"against their held-out labels, with the harness's own scorer.",
                      "scoring_program": PROGRAM_DIR, "reference_data": f"{REFERENCE_DIR}/{p.name}"})
    return {
        "version": VERSION, "title": title, "description": proto.description, "image": LOGO, "terms": TERMS,
        "docker_image": docker_image, "registration_auto_approve": False, "enable_detailed_results": True,
        "pages": [{"title": t, "file": f} for t, f in PAGE_FILES],
        "phases": yaml_phases, "tasks": tasks,
        "leaderboards": [{**LEADERBOARD, "submission_rule": KEEP_TO_RULE[proto.board_keep], "columns": columns}],
    }


def example_bundle_files() -> dict[str, bytes]:
    from harness.bundles.discover import resolve_bundle

    root = resolve_bundle(EXAMPLE_BUNDLE)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def logo_png(size: int = 64) -> bytes:
    """A small PNG (Codabench requires an image): a band of the harness's colours, made with zlib."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + (bytes((40, 70, 120)) if size // 3 <= y < 2 * size // 3 else bytes((230, 236, 245)))
                    * size for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def build_files(proto: Protocol, phases: Sequence[PhaseExport], columns: list[dict], title: str,
                docker_image: str = DOCKER_IMAGE, time_limit: int = EXECUTION_TIME_LIMIT_S) -> dict[str, bytes]:
    """Every file of the bundle, by its path in the zip."""
    import yaml

    from harness.scoring.predictions import format_predictions

    program = program_files(protocol_info(proto, columns))
    impure = purity_problems(program, PROGRAM_DIR)
    if impure:
        raise CheckFailed("the packaged scoring program would not run in the platform's image:\n"
                          + "\n".join(f"  - {p.render()}" for p in impure))
    doc = competition_yaml(proto, phases, columns, title, docker_image, time_limit)
    files = {YAML_NAME: yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100).encode(),
             LOGO: logo_png(),
             **{f"{PROGRAM_DIR}/{k}": v for k, v in program.items()}}
    md = {"pages/overview.md": pages.overview_md(proto, phases, columns),
          "pages/evaluation.md": pages.evaluation_md(proto, columns),
          "pages/data.md": pages.data_md(proto, phases), TERMS: pages.terms_md(proto)}
    files.update({k: v.encode() for k, v in md.items()})
    example = example_bundle_files()
    for p in phases:
        ref = f"{REFERENCE_DIR}/{p.name}"
        files[f"{ref}/{REFERENCE_FILE}"] = reference_csv(p.rows)
        files[f"{ref}/{PHASE_FILE}"] = (json.dumps(
            {"protocol": proto.name, "protocol_version": proto.version, "phase": p.protocol_phase,
             "codabench_phase": p.name, "samples": len(p.rows), "subjects": p.n_subjects}, indent=2) + "\n").encode()
        kit = f"{KIT_DIR}/{p.name}"
        ids = [r[0] for r in p.rows]
        files[f"{kit}/{pages.TEMPLATE}"] = format_predictions(ids, [""] * len(ids)).encode()
        files[f"{kit}/README.md"] = pages.starting_kit_readme(proto, p, columns).encode()
        files.update({f"{kit}/{pages.EXAMPLE_DIR}/{k}": v for k, v in example.items()})
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    return buf.getvalue()


# ----- the whole export ----------------------------------------------------------------------------------------
def export_codabench(protocol: str, output: str | Path, phases: Sequence[str] = (), data_root: str | Path | None = None,
                     starts: Sequence[str] = (), ends: Sequence[str] = (), title: str | None = None,
                     docker_image: str = DOCKER_IMAGE, time_limit: int = EXECUTION_TIME_LIMIT_S) -> Export:
    """Write the bundle of `protocol` (its `phases`, default all) to `output`; nothing is written on bad input."""
    from harness.paths import resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.fsutil import atomic_write_bytes

    output = Path(output)
    if output.suffix.lower() != ".zip":
        raise BadInput(f"-o {output}: a Codabench bundle is a .zip file")
    proto = get_protocol(protocol)
    selected = select_phases(proto, phases)
    names = [phase_name(p) for p in selected]
    start, end = parse_dates(starts, names, "--start"), parse_dates(ends, names, "--end")
    if time_limit < 1:
        raise BadInput(f"--time-limit must be a positive number of seconds (got {time_limit})")
    dated = date_problems([(n, start.get(n), end.get(n)) for n in names])
    errors = [p for p in dated if p.severity == "error"]
    if errors:
        raise ValidationFailed(errors, "the phase dates would be refused by Codabench")
    columns = leaderboard_columns(proto)
    task = build_task(proto, resolve_data_root(data_root), check_frames=False)
    plans = plan_phases(proto, task, selected, start, end)
    files = build_files(proto, plans, columns, title or proto.title, docker_image, time_limit)
    atomic_write_bytes(output, zip_bytes(files))
    notes = [f"{p.message} ({p.hint})" for p in dated] + [f"the data root differs from the official release: {m}"
                                            for m in task.official_count_mismatches()]
    return Export(output, files, plans, columns, notes)
