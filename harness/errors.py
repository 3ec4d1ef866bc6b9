"""Errors that carry their exit code and a report a user can act on.

Exit codes are a contract (README, CI): 0 ok, 1 a check or regression failed, 2 bad input or usage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class HarnessError(Exception):
    """Base class; `exit_code` says how the CLI ends."""

    exit_code = EXIT_BAD_INPUT


class BadInput(HarnessError):
    """A file, option or name the user gave us is wrong. Exit 2; nothing was written."""

    exit_code = EXIT_BAD_INPUT


class CheckFailed(HarnessError):
    """A check ran and found a failure (a regression, a broken data root). Exit 1."""

    exit_code = EXIT_CHECK_FAILED


class LimitReached(BadInput):
    """A phase's submission limit is used up for this team."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one file. Rows are 1-based as a spreadsheet or editor shows them; a
    declarative file (YAML) names the place by its key path (`split.phases.test_A`, `checks[2].expect.uf1`)."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    hint: str | None = None
    severity: str = "error"  # "error" stops the run, "warning" is reported
    key: str | None = None   # key path in a declarative file (harness.schema)

    def render(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        if self.key is not None:
            where += f", key {self.key!r}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class ValidationFailed(BadInput):
    """Several problems found in one pass; the message lists them all."""

    def __init__(self, problems: Iterable[Problem], title: str = "input is invalid", limit: int = 50):
        self.problems = list(problems)
        self.title = title
        shown = [p.render() for p in self.problems[:limit]]
        more = len(self.problems) - len(shown)
        lines = [f"{title}: {len(self.problems)} problem(s)"] + [f"  - {s}" for s in shown]
        if more > 0:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


def raise_if_errors(problems: Iterable[Problem], title: str) -> list[Problem]:
    """Raise ValidationFailed when any problem is an error; return the warnings otherwise."""
    problems = list(problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationFailed(errors, title)
    return [p for p in problems if p.severity != "error"]
