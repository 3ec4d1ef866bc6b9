"""predictions.csv: the one file format every participant hands us. Validated in one pass.

Format: header `sample_id,prediction`, then one row per test sample. `prediction` is a class name of the
protocol (case- and space-insensitive) or its 0-based index in the protocol's class order. Optional `p_<class>`
columns (all K of them, or none) carry probabilities: each in [0, 1], each row summing to 1 within 0.01.
Every test id exactly once. UTF-8 with or without BOM; LF or CRLF; standard CSV quoting. The columns that
`harness submissions export` adds for a reader (INFORMATIONAL: fold, subject, dataset, truth, seed) are allowed
and ignored, so that an export is itself a valid predictions file and re-scores to the same numbers.

Every problem is reported with its row (the line number an editor shows; the header is row 1) and column,
and the file is rejected as a whole: a partially valid submission is never scored.

Stdlib + numpy only (and harness.errors): `harness export codabench` packages this module into the scoring
program, so that the platform validates a file with exactly these rules and messages.
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.errors import BadInput, Problem, ValidationFailed

PROBA_TOLERANCE = 0.01
INFORMATIONAL = ("fold", "subject", "dataset", "truth", "seed")   # read by people, ignored by the scorer
MAX_LISTED = 5
_WS = re.compile(r"\s+")


def norm_name(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


@dataclass
class Predictions:
    """Predictions aligned with the reference order of test ids."""

    ids: list[str]
    pred: np.ndarray              # class indices, shape (N,)
    proba: np.ndarray | None      # shape (N, K) or None
    source: str


def read_predictions(path: str | Path, reference_ids: Sequence[str], classes: Sequence[str]) -> Predictions:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, expected a predictions CSV file") from None
    return parse_predictions(data, str(path), reference_ids, classes)


def _not_utf8(data: bytes, source: str, exc: UnicodeDecodeError) -> Problem:
    """The first undecodable byte, located by row and (when the header is readable) column."""
    start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    row = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    field = data.count(b",", line_start, start)
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")]), [])
    column = header[field] if 0 <= field < len(header) and row > 1 else None
    return Problem(source, f"not UTF-8 text (byte 0x{data[start]:02x} at offset {start})", row=row, column=column,
                   hint="save the file as CSV UTF-8")


def parse_predictions(data: bytes, source: str, reference_ids: Sequence[str], classes: Sequence[str], *,
                      fast: bool = True) -> Predictions:
    """Validate and parse a predictions file against the reference test ids and the protocol's classes.

    A valid file takes a vectorised fast path; anything unusual (quoting, blank lines, any problem at all) is
    handed to the exact row-by-row reader, which reports every problem with its row and column. `fast=False`
    forces the row-by-row reader (the tests check that both agree).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed([_not_utf8(data, source, exc)], f"{source} is not a valid predictions file") from None
    if not text or text.isspace():
        raise ValidationFailed([Problem(source, "the file is empty", row=1,
                                        hint="expected a header `sample_id,prediction` and one row per test sample; "
                                             "`harness template` writes one")], f"{source} is not a valid predictions file")
    problems: list[Problem] = []
    # The header is read from its own line when it holds no quote (a quoted field could span lines): copying a
    # large file into a StringIO is then left to the row-by-row reader, which needs it.
    nl = text.find("\n")
    head_only = nl >= 0 and '"' not in text[:nl]
    reader = csv.reader(io.StringIO(text[:nl + 1] if head_only else text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ValidationFailed([Problem(source, f"unreadable CSV header: {exc}", row=1)],
                               f"{source} is not a valid predictions file") from None
    cols = [norm_name(h) for h in header]
    k = len(classes)
    class_norm = [norm_name(c) for c in classes]
    proba_cols = {f"p_{c}": i for i, c in enumerate(class_norm)}
    proba_cols.update({f"p_{c.replace(' ', '_')}": i for i, c in enumerate(class_norm)})
    seen: dict[str, int] = {}
    for j, c in enumerate(cols):
        if c in seen:
            problems.append(Problem(source, f"column {header[j]!r} appears twice", row=1, column=header[j]))
        seen.setdefault(c, j)
        if c not in ("sample_id", "prediction", *INFORMATIONAL) and c not in proba_cols:
            hint = "allowed: sample_id, prediction, " + ", ".join(f"p_{c}" for c in class_norm)
            if ";" in header[j] or "\t" in header[j]:
                hint = "the file must be comma-separated"
            problems.append(Problem(source, f"unknown column {header[j]!r}", row=1, column=header[j], hint=hint))
    for need in ("sample_id", "prediction"):
        if need not in seen:
            problems.append(Problem(source, f"missing column {need!r}", row=1, column=need,
                                    hint="the header must be `sample_id,prediction` (optionally p_<class> columns)"))
    given_proba = {proba_cols[c]: j for c, j in seen.items() if c in proba_cols}
    if given_proba and len(given_proba) != k:
        missing = [f"p_{class_norm[i]}" for i in range(k) if i not in given_proba]
        problems.append(Problem(source, f"probability columns are incomplete: missing {', '.join(missing)}", row=1,
                                hint="give all K probability columns or none"))
    if "sample_id" not in seen or "prediction" not in seen:
        raise ValidationFailed(problems, f"{source} is not a valid predictions file")

    i_id, i_pred = seen["sample_id"], seen["prediction"]
    proba_idx = [given_proba[i] for i in range(k)] if len(given_proba) == k else []
    ncols = len(header)
    if fast and not problems:
        done = _parse_fast(text, ncols, i_id, i_pred, proba_idx, reference_ids, class_norm)
        if done is not None:
            return Predictions(list(reference_ids), done[0], done[1], source)
    if head_only:
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
    ids: list[str] = []
    raw_pred: list[str] = []
    raw_proba: list[list[str]] = []
    rows: list[int] = []
    try:
        for rec in reader:
            line = reader.line_num
            if not rec or all(not f.strip() for f in rec):
                continue
            if len(rec) != ncols:
                problems.append(Problem(source, f"{len(rec)} field(s), the header has {ncols}", row=line,
                                        hint="check for unquoted commas"))
                continue
            ids.append(rec[i_id].strip())
            raw_pred.append(rec[i_pred])
            if proba_idx:
                raw_proba.append([rec[j] for j in proba_idx])
            rows.append(line)
    except csv.Error as exc:
        problems.append(Problem(source, f"CSV syntax error: {exc}", row=reader.line_num,
                                hint="check quoting (a quote inside a field must be doubled)"))

    ref_index = {sid: n for n, sid in enumerate(reference_ids)}
    position = np.full(len(ids), -1, dtype=np.int64)
    first_row: dict[str, int] = {}
    for n, (sid, line) in enumerate(zip(ids, rows)):
        if not sid:
            problems.append(Problem(source, "empty sample_id", row=line, column="sample_id"))
            continue
        if sid in first_row:
            problems.append(Problem(source, f"sample_id {sid!r} appears again (first at row {first_row[sid]})",
                                    row=line, column="sample_id", hint="every test sample exactly once"))
            continue
        first_row[sid] = line
        p = ref_index.get(sid)
        if p is None:
            problems.append(Problem(source, f"unknown sample_id {sid!r}", row=line, column="sample_id",
                                    hint="not a test sample of this protocol/phase; `harness template` lists them"))
            continue
        position[n] = p

    pred = _parse_labels(raw_pred, rows, class_norm, source, problems)
    proba = _parse_proba(raw_proba, rows, class_norm, source, problems) if proba_idx else None

    missing = [sid for sid in reference_ids if sid not in first_row]
    if missing:
        shown = ", ".join(repr(s) for s in missing[:MAX_LISTED]) + (" ..." if len(missing) > MAX_LISTED else "")
        problems.append(Problem(source, f"{len(missing)} test sample(s) have no prediction: {shown}",
                                column="sample_id", hint="every test sample_id exactly once; `harness template` "
                                                         "writes the full list"))
    if problems:
        raise ValidationFailed(problems, f"{source} is not a valid predictions file")
    order = np.argsort(position)
    return Predictions(list(reference_ids), pred[order], None if proba is None else proba[order], source)


_INDEX = re.compile(r"[+-]?\d+(\.0+)?")


def _label_lookup(class_norm: Sequence[str]) -> dict[str, int]:
    lookup = {c: i for i, c in enumerate(class_norm)}
    lookup.update({str(i): i for i in range(len(class_norm))})
    return lookup


def _label_index(value: str, lookup: dict[str, int]) -> int:
    """Class index of one prediction cell (name, case- and space-insensitive, or 0-based index); -1 if none."""
    key = norm_name(value)
    if _INDEX.fullmatch(key):
        key = str(int(float(key)))
    return lookup.get(key, -1)


def _parse_fast(text: str, ncols: int, i_id: int, i_pred: int, proba_idx: list[int], reference_ids: Sequence[str],
                class_norm: list[str]) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Vectorised reading of a file that is plainly valid: no quotes, LF or CRLF lines, every line with the
    header's field count, every reference id exactly once, every label and probability valid.

    Returns (pred, proba) in reference order, or None as soon as anything differs from that, so that the exact
    reader (which gives the same result on valid files) produces the report.
    """
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    nl = text.find("\n")
    body = text[nl + 1:] if nl >= 0 else ""
    if body.endswith("\n"):
        body = body[:-1]
    n = len(reference_ids)
    if not body or n == 0:
        return None
    lines = body.split("\n")
    if len(lines) != n or set(map(str.count, lines, itertools.repeat(","))) != {ncols - 1}:
        return None
    fields = ",".join(lines).split(",")
    ids = list(map(str.strip, fields[i_id::ncols]))
    if ids == list(reference_ids):  # the template's order: nothing to look up
        position = np.arange(n, dtype=np.int64)
    else:
        ref_index = dict(zip(reference_ids, range(n)))
        pos = list(map(ref_index.get, ids))
        if len(ref_index) != n or None in pos:
            return None
        position = np.fromiter(pos, dtype=np.int64, count=n)
        if np.bincount(position, minlength=n).max() != 1:
            return None  # a duplicate id (and so a missing one)
    lookup = _label_lookup(class_norm)
    raw_pred = fields[i_pred::ncols]
    table = {v: _label_index(v, lookup) for v in set(raw_pred)}
    if min(table.values()) < 0:
        return None
    pred = np.empty(n, dtype=np.int64)
    pred[position] = np.fromiter(map(table.__getitem__, raw_pred), dtype=np.int64, count=n)
    proba = None
    if proba_idx:
        values = np.empty((n, len(proba_idx)))
        try:
            for c, j in enumerate(proba_idx):
                values[:, c] = np.fromiter(map(float, fields[j::ncols]), dtype=float, count=n)
        except ValueError:
            return None
        if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
            return None
        if (np.abs(values.sum(axis=1) - 1.0) > PROBA_TOLERANCE * (1 - 1e-9)).any():
            return None  # (a hair stricter than the exact reader: borderline rows are decided there)
        proba = np.empty_like(values)
        proba[position] = values
    return pred, proba


def _parse_labels(raw: list[str], rows: list[int], class_norm: list[str], source: str,
                  problems: list[Problem]) -> np.ndarray:
    k = len(class_norm)
    lookup = _label_lookup(class_norm)
    out = np.full(len(raw), -1, dtype=np.int64)
    cache: dict[str, int] = {}
    for n, value in enumerate(raw):
        idx = cache.get(value)
        if idx is None:
            idx = cache[value] = _label_index(value, lookup)
        if idx < 0:
            key = norm_name(value)
            if not key:
                problems.append(Problem(source, "empty prediction", row=rows[n], column="prediction",
                                        hint="fill in a class name or index"))
            elif _INDEX.fullmatch(key):
                problems.append(Problem(source, f"class index {value.strip()} is out of range", row=rows[n],
                                        column="prediction", hint=f"indices run from 0 to {k - 1}: "
                                        + ", ".join(f"{i}={c}" for i, c in enumerate(class_norm))))
            else:
                problems.append(Problem(source, f"unknown class {value!r}", row=rows[n], column="prediction",
                                        hint="use one of " + ", ".join(f"{c} ({i})" for i, c in enumerate(class_norm))))
        out[n] = idx
    return out


def _parse_proba(raw: list[list[str]], rows: list[int], class_norm: list[str], source: str,
                 problems: list[Problem]) -> np.ndarray:
    k = len(class_norm)
    out = np.zeros((len(raw), k))
    for n, values in enumerate(raw):
        bad = False
        for j, v in enumerate(values):
            try:
                x = float(v)
            except ValueError:
                x = math.nan
            if not math.isfinite(x) or x < 0 or x > 1:
                problems.append(Problem(source, f"{v!r} is not a probability in [0, 1]", row=rows[n],
                                        column=f"p_{class_norm[j]}"))
                bad = True
            out[n, j] = x
        if not bad and abs(out[n].sum() - 1.0) > PROBA_TOLERANCE:
            problems.append(Problem(source, f"probabilities sum to {out[n].sum():.4f}, not 1", row=rows[n],
                                    hint=f"each row's p_ columns must sum to 1 within {PROBA_TOLERANCE}"))
    return out


def format_predictions(ids: Sequence[str], labels: Sequence[str], proba: np.ndarray | None = None,
                       classes: Sequence[str] = (), info: dict[str, Sequence[object]] | None = None) -> str:
    """The canonical predictions file as text: `harness template` (empty labels), the Codabench starting kit,
    `harness predict` and `harness submissions export` (with `info`: INFORMATIONAL columns, after the id)."""
    info = info or {}
    unknown = [k for k in info if k not in INFORMATIONAL]
    if unknown:
        raise ValueError(f"not an informational column: {unknown}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sample_id", *info, "prediction"] + ([f"p_{c}" for c in classes] if proba is not None else []))
    for i, (sid, lab) in enumerate(zip(ids, labels)):
        w.writerow([sid, *(v[i] for v in info.values()), lab]
                   + ([f"{x:.6f}" for x in proba[i]] if proba is not None else []))
    return buf.getvalue()
