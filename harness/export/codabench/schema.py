"""What Codabench accepts in a `competition.yaml` (version 2), as data, and a schema check of those fields.

Sources (codalab/codabench): `documentation/docs/Organizers/Benchmark_Creation/Yaml-Structure.md` (the field
list), `src/apps/competitions/unpackers/v2.py` and `base_unpacker.py` (what upload really reads: `image`, `terms`
and `pages` are required, every phase needs a `start`, a phase followed by another needs an `end`, phases must
not overlap or touch, only the first leaderboard is attached to the phases), `src/apps/leaderboards/models.py`
(submission rules, column sorting, 36/64-character keys and titles), `src/apps/competitions/models.py`
(`Phase.start` is not nullable; `execution_time_limit` in seconds, default 600; 256-character titles). Codabench ignores a field it does
not know, so a misspelt limit would silently vanish: unknown fields are reported.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from harness.errors import Problem
from harness.registry import suggest

YAML_NAME = "competition.yaml"
VERSION = 2
DOCKER_IMAGE = "codalab/codalab-legacy:py39"   # the platform's plain Python 3.9 image with numpy
PYTHON_VERSION = (3, 9)                          # ... which the packaged scoring program must parse under
EXECUTION_TIME_LIMIT_S = 600                     # the platform's default, in seconds
PLATFORM_LIMIT_DEFAULTS = {"max_submissions_per_day": 5, "max_submissions": 100}  # applied when a key is absent
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"                # "YYYY-MM-DD HH:MM:SS", UTC (Yaml-Structure.md)

SUBMISSION_RULES = ("Add", "Add_And_Delete", "Add_And_Delete_Multiple", "Force_Last", "Force_Latest_Multiple",
                    "Force_Best")
KEEP_TO_RULE = {"best": "Force_Best", "latest": "Force_Last"}   # protocol `leaderboard.keep` -> submission_rule
SORTINGS = ("desc", "asc")
COLUMN_PRECISION = 4
KEY_MAX, COLUMN_TITLE_MAX, LEADERBOARD_TITLE_MAX, TITLE_MAX = 36, 36, 64, 256   # competition / phase: 256

TOP_FIELDS = {
    "version", "title", "image", "terms", "description", "registration_auto_approve", "docker_image",
    "make_programs_available", "make_input_data_available", "queue", "enable_detailed_results",
    "show_detailed_results_in_submission_panel", "show_detailed_results_in_leaderboard", "contact_email", "reward",
    "auto_run_submissions", "can_participants_make_submissions_public", "forum_enabled", "competition_type",
    "pages", "phases", "tasks", "solutions", "leaderboards", "fact_sheet",
}
PAGE_FIELDS = {"title", "file"}
PHASE_FIELDS = {
    "index", "name", "description", "start", "end", "tasks", "solutions", "max_submissions",
    "max_submissions_per_day", "auto_migrate_to_this_phase", "execution_time_limit", "hide_output",
    "hide_prediction_output", "hide_score_output", "starting_kit", "public_data", "accepts_only_result_submissions",
}
TASK_FIELDS = {"index", "name", "description", "key", "scoring_program", "reference_data", "input_data",
               "ingestion_program", "ingestion_only_during_scoring"}
LEADERBOARD_FIELDS = {"title", "key", "columns", "submission_rule", "hidden", "index", "primary_index"}
COLUMN_FIELDS = {"title", "key", "index", "sorting", "computation", "computation_indexes", "precision", "hidden"}
BOOL_TOP = ("registration_auto_approve", "make_programs_available", "make_input_data_available",
            "enable_detailed_results", "show_detailed_results_in_submission_panel",
            "show_detailed_results_in_leaderboard", "auto_run_submissions", "can_participants_make_submissions_public",
            "forum_enabled")
BOOL_PHASE = ("auto_migrate_to_this_phase", "hide_output", "hide_prediction_output", "hide_score_output",
              "accepts_only_result_submissions")


def field_problem(where: str, message: str, hint: str | None = None, severity: str = "error") -> Problem:
    """A problem with one field of competition.yaml, named by its path (phases[0].start)."""
    return Problem(YAML_NAME, f"{where}: {message}" if where else message, hint=hint, severity=severity)


def parse_date(value: Any) -> dt.datetime | None:
    """A yaml date value as Codabench reads it (a date is midnight); None when it is not a date at all."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def format_date(value: dt.datetime) -> str:
    return value.strftime(DATE_FORMAT)


class _Schema:
    """Collects the problems of one yaml document; `where` is a dotted field path (phases[0].tasks)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str, hint: str | None = None) -> None:
        self.problems.append(field_problem(where, message, hint))

    def fields(self, obj: Any, allowed: set[str], where: str, kind: str) -> dict:
        if not isinstance(obj, dict):
            self.add(where, f"{kind} must be a mapping of fields, got {type(obj).__name__}")
            return {}
        for key in obj:
            if key not in allowed:
                self.add(f"{where}.{key}" if where else str(key),
                         f"unknown {kind} field {key!r}: Codabench ignores it",
                         suggest(str(key), sorted(allowed), f"{kind} field"))
        return obj

    def typed(self, obj: dict, key: str, typ: type | tuple, where: str, required: bool = False,
              max_len: int | None = None) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                self.add(path, f"missing required field {key!r}")
            return None
        value = obj[key]
        if isinstance(value, bool) and typ is int or not isinstance(value, typ):
            name = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            self.add(path, f"{key!r} must be {name}, got {value!r}")
            return None
        if max_len is not None and isinstance(value, str) and len(value) > max_len:
            self.add(path, f"{key!r} has {len(value)} characters; Codabench stores at most {max_len}")
        if isinstance(value, str) and not value.strip():
            self.add(path, f"{key!r} is empty")
        return value

    def items(self, obj: dict, key: str, where: str, required: bool = True) -> list:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(f"{where}.{key}" if where else key, f"missing required list {key!r}")
            return []
        if not isinstance(value, list) or not value:
            self.add(f"{where}.{key}" if where else key, f"{key!r} must be a non-empty list")
            return []
        return value


def schema_problems(data: Any) -> list[Problem]:
    """Every field of a competition.yaml checked for Codabench's spelling and type (the fields we emit and the
    documented ones); cross-field rules (dates in order, tasks that exist) are the checker's."""
    s = _Schema()
    top = s.fields(data, TOP_FIELDS, "", "competition")
    if not top:
        return s.problems
    if top.get("version") != VERSION:
        s.add("version", f"version must be {VERSION} (a Codabench v2 bundle), got {top.get('version')!r}")
    s.typed(top, "title", str, "", required=True, max_len=TITLE_MAX)
    s.typed(top, "image", str, "", required=True)
    s.typed(top, "terms", str, "", required=True)
    for key in ("description", "docker_image", "contact_email", "reward", "queue"):
        s.typed(top, key, str, "")
    for key in BOOL_TOP:
        s.typed(top, key, bool, "")
    for i, page in enumerate(s.items(top, "pages", "")):
        page = s.fields(page, PAGE_FIELDS, f"pages[{i}]", "page")
        s.typed(page, "title", str, f"pages[{i}]", required=True)
        s.typed(page, "file", str, f"pages[{i}]", required=True)
    for i, task in enumerate(s.items(top, "tasks", "")):
        where = f"tasks[{i}]"
        task = s.fields(task, TASK_FIELDS, where, "task")
        s.typed(task, "index", int, where, required=True)
        if "key" not in task:
            s.typed(task, "name", str, where, required=True)
            s.typed(task, "scoring_program", str, where, required=True)
        for key in ("description", "reference_data", "input_data", "ingestion_program"):
            s.typed(task, key, str, where)
    for i, phase in enumerate(s.items(top, "phases", "")):
        where = f"phases[{i}]"
        phase = s.fields(phase, PHASE_FIELDS, where, "phase")
        s.typed(phase, "index", int, where)
        s.typed(phase, "name", str, where, required=True, max_len=TITLE_MAX)
        s.typed(phase, "description", str, where)
        for key in ("start", "end"):
            if key in phase and parse_date(phase[key]) is None:
                s.add(f"{where}.{key}", f"{key} {phase[key]!r} is not a date",
                      "use 'YYYY-MM-DD HH:MM:SS' (UTC)")
        for key in ("max_submissions", "max_submissions_per_day", "execution_time_limit"):
            value = s.typed(phase, key, int, where)
            if value is not None and value < 1:
                s.add(f"{where}.{key}", f"{key} must be a positive integer, got {value}")
        tasks = s.items(phase, "tasks", where)
        if any(isinstance(t, bool) or not isinstance(t, int) for t in tasks):
            s.add(f"{where}.tasks", "tasks must list task indices (integers)")
        for key in ("starting_kit", "public_data"):
            s.typed(phase, key, str, where)
        for key in BOOL_PHASE:
            s.typed(phase, key, bool, where)
    boards = s.items(top, "leaderboards", "")
    if len(boards) > 1:
        s.add("leaderboards", f"{len(boards)} leaderboards: Codabench attaches only the first one to the phases")
    for i, board in enumerate(boards):
        _leaderboard_problems(s, board, f"leaderboards[{i}]")
    return s.problems


def _leaderboard_problems(s: _Schema, board: Any, where: str) -> None:
    board = s.fields(board, LEADERBOARD_FIELDS, where, "leaderboard")
    s.typed(board, "title", str, where, required=True, max_len=LEADERBOARD_TITLE_MAX)
    s.typed(board, "key", str, where, required=True, max_len=KEY_MAX)
    s.typed(board, "hidden", bool, where)
    rule = board.get("submission_rule")
    if rule is not None and rule not in SUBMISSION_RULES:
        s.add(f"{where}.submission_rule", f"unknown submission_rule {rule!r}",
              suggest(str(rule), list(SUBMISSION_RULES), "submission_rule"))
    columns = s.items(board, "columns", where)
    keys, indices = [], []
    for j, col in enumerate(columns):
        cw = f"{where}.columns[{j}]"
        col = s.fields(col, COLUMN_FIELDS, cw, "column")
        s.typed(col, "title", str, cw, required=True, max_len=COLUMN_TITLE_MAX)
        keys.append(s.typed(col, "key", str, cw, required=True, max_len=KEY_MAX))
        indices.append(s.typed(col, "index", int, cw, required=True))
        sorting = col.get("sorting", "desc")
        if sorting not in SORTINGS:
            s.add(f"{cw}.sorting", f"sorting must be one of {', '.join(SORTINGS)}, got {sorting!r}")
        precision = s.typed(col, "precision", int, cw)
        if precision is not None and precision < 0:
            s.add(f"{cw}.precision", f"precision must be 0 or more, got {precision}")
        s.typed(col, "hidden", bool, cw)
    if len({k for k in keys if k}) != len([k for k in keys if k]):
        s.add(f"{where}.columns", f"column keys repeat: {keys}")
    if all(isinstance(i, int) for i in indices) and sorted(indices) != list(range(len(indices))):
        s.add(f"{where}.columns", f"column indices must be 0..{len(indices) - 1} once each, got {indices}",
              "index 0 is the primary (ranking) column")


def date_problems(phases: Sequence[tuple[str, dt.datetime | None, dt.datetime | None]]) -> list[Problem]:
    """Codabench's rules on phase dates: errors where upload would fail on a date given, warnings where a date it
    needs is missing (the export writes only the dates it is given)."""
    out = []
    for i, (name, start, end) in enumerate(phases):
        where = f"phases[{i}]"
        if start is None:
            out.append(field_problem(f"{where}.start", f"phase {name} has no start date; Codabench refuses a phase "
                                     "without one", f"export with --start {name}=YYYY-MM-DD, or set it before "
                                     "uploading", "warning"))
        if start is not None and end is not None and end <= start:
            out.append(field_problem(f"{where}.end", f"phase {name} ends ({format_date(end)}) before it starts "
                                     f"({format_date(start)})"))
        if i + 1 < len(phases):
            following, next_start = phases[i + 1][0], phases[i + 1][1]
            if end is None:
                out.append(field_problem(f"{where}.end", f"phase {name} has no end date; Codabench needs one for a "
                                         f"phase that another ({following}) follows",
                                         f"export with --end {name}=YYYY-MM-DD", "warning"))
            elif next_start is not None and next_start <= end:
                out.append(field_problem(f"phases[{i + 1}].start", f"phase {following} starts "
                                         f"({format_date(next_start)}) not after phase {name} ends "
                                         f"({format_date(end)}); Codabench needs phases in sequence, without overlap"))
    return out
