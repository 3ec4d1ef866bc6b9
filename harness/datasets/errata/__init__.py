"""Errata: the known defects of an official release, corrected on load, kept as versioned data.

One YAML file per release lives in this folder (`casme3-partA-v2.yaml`, `samm-v2.yaml`). A correction names the
annotation file, the row by its identity (the cells that identify it as released) and by its sheet row, the
field, the value as released, the corrected value and its source. It is applied only where that row holds the
released value: a copy that differs gets "not applicable" (a warning), never a change to some other row. Rows are
matched on their released values and sample ids are built from them, so a correction never changes an id.

Which errata a load uses (`LoadOptions`): the built-in files of the dataset; none with `--no-errata`; a user's
file given with `--errata FILE`, which replaces the built-ins of the dataset it names. The synthetic corpus is a
release of its own: its generator planted its defects and writes their errata beside its ground truth
(`_truth/<dataset>/errata.yaml`); on that corpus they take the place of the real releases' errata.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.errors import BadInput, Problem

BUILTIN_DIR = Path(__file__).resolve().parent
SYNTHETIC_FILE = "errata.yaml"  # in <data root>/_truth/<dataset>/
FIELDS = ("errata", "version", "dataset", "file", "corrections")


@dataclass(frozen=True)
class Correction:
    row: int | None           # sheet row as released (header row 1, or 14 for SAMM)
    identity: dict[str, Any]  # column -> released value; together they name the row
    field: str                # column corrected
    released: Any
    corrected: Any
    source: str               # who says so (resolved through the file's `sources`)
    why: str = ""
    alternatives: tuple[dict, ...] = ()
    line: int | None = None   # where the correction sits in its errata file, for messages


@dataclass(frozen=True)
class ErrataSet:
    name: str
    version: str
    dataset: str
    file: str                 # annotation file name as released (matched case-insensitively)
    sheet: str | None
    corrections: tuple[Correction, ...]
    path: Path
    origin: str               # "built-in", "user" or "synthetic"
    description: str = ""
    notes: tuple[str, ...] = ()
    digest: str = ""

    @property
    def label(self) -> str:
        """How provenance and the data fingerprint name this set: name@version, plus what it is."""
        base = f"{self.name}@{self.version}"
        if self.origin == "user":
            return f"{base} (user file {self.path.name}, sha256 {self.digest[:12]})"
        if self.origin == "synthetic":
            return f"{base} (synthetic corpus, sha256 {self.digest[:12]})"
        return base

    def applies_to(self, path: Path, sheet: str) -> bool:
        return path.name.lower() == self.file.lower() and (self.sheet is None or self.sheet == sheet)


@dataclass
class SheetRow:
    """One data row: corrected values, the values as released (ids and matching use these), its sheet row."""

    number: int
    values: dict[str, Any]
    released: dict[str, Any]


# ----- reading and validating an errata file ---------------------------------------------------------------------
def read_errata(path: Path, origin: str = "user") -> ErrataSet:
    """Parse and validate one errata file; every problem at once, each naming the file, line and field."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"errata file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = yaml.load(text, Loader=_text_loader())
        lines = _item_lines(yaml.compose(text, Loader=_text_loader()))
    except yaml.YAMLError as exc:
        raise BadInput(f"errata file {path}: not valid YAML ({exc})") from None
    return parse_errata(data, path, origin, lines, hashlib.sha256(text.encode()).hexdigest())


def _text_loader():
    """A YAML loader that reads numbers as text: `032_3_1` would otherwise be the octal number 1689 and `006` the
    number 6. Cells are compared as text or integers by `cell_key`, so `'83'` still matches a cell 83."""
    import yaml

    class TextLoader(yaml.SafeLoader):
        pass

    numeric = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
    TextLoader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag not in numeric]
                                          for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return TextLoader


def _item_lines(node) -> list[int]:
    """1-based line of each item of the top-level `corrections` list (for messages)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "corrections" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _nonblank(value: str) -> str | None:
    return None if value.strip() else "must be a non-empty text"


def parse_errata(data: Any, path: Path, origin: str = "user", lines: Sequence[int] = (), digest: str = "") -> ErrataSet:
    """Validate a loaded errata file (harness.schema): every problem names the file, the line of its correction
    and the key."""
    from harness.datasets.adapters import ADAPTERS
    from harness.schema import Fields

    f = Fields(path, data, "errata file")
    f.done(f"errata file {path} is invalid (a mapping with the fields {', '.join(FIELDS)})")
    name, file = f.get("errata", check=_nonblank), f.get("file", check=_nonblank)
    version = f.get("version", (str, int, float))
    dataset = f.get("dataset", check=lambda d: None if d in ADAPTERS else
                    f"unknown dataset {d!r} (known: {', '.join(ADAPTERS.names())})")
    sources = f.get("sources", dict, default={}, hint="map a short key to a description of the source")
    if "corrections" not in f:
        f.add("corrections", "missing field", hint="a list of {row, identity, field, released, corrected, source}")
    corrections = []
    for c in f.items("corrections", list(lines)):
        if c.broken:
            continue
        identity = c.get("identity", dict, check=lambda i: None if i else "must not be empty",
                         hint="map column names to their released values, e.g. {Subject: spNO.149, Filename: d, "
                              "Onset: 112}")
        row = cell_key(c.data.get("row"))
        if row is not None and not (isinstance(row, int) and row >= 1):
            c.add("row", f"row must be a sheet row number (1 or more), not {c.data.get('row')!r}")
            row = None
        fld = c.get("field", check=_nonblank, hint="the column of the sheet that is corrected")
        for key in ("released", "corrected"):
            if key not in c:
                c.add(key, "missing field")
        if "released" in c and "corrected" in c and same_cell(c.data["released"], c.data["corrected"]):
            c.add("corrected", "released and corrected values are the same")
        src = c.get("source", check=_nonblank, hint="whose value this is (a key of `sources`, or a description)")
        alts = c.get("alternatives", list, default=[],
                     check=lambda a: None if all(isinstance(x, dict) and "value" in x for x in a) else
                     "must be a list of {value, source}")
        corrections.append(Correction(
            row=row, identity=dict(identity or {}), field=str(fld or ""), released=c.data.get("released"),
            corrected=c.data.get("corrected"), source=str(sources.get(src, src) or ""),
            why=str(c.get("why", default="")), line=c.row,
            alternatives=tuple({**a, "source": str(sources.get(a.get("source"), a.get("source", "")))}
                               for a in alts)))
    f.done(f"errata file {path} is invalid")
    return ErrataSet(name=str(name).strip(), version=str(version), dataset=str(dataset), file=str(file).strip(),
                     sheet=f.get("sheet", default=None), corrections=tuple(corrections), path=path, origin=origin,
                     description=str(f.get("description", default="")).strip(),
                     notes=tuple(str(n) for n in f.get("notes", list, default=[])), digest=digest)


def builtin_errata(dataset: str) -> list[ErrataSet]:
    """The built-in errata files of `dataset` (this folder)."""
    sets = [read_errata(p, origin="built-in") for p in sorted(BUILTIN_DIR.glob("*.yaml"))]
    return [s for s in sets if s.dataset == dataset]


def errata_for(dataset: str, data_root: Path, options) -> list[ErrataSet]:
    """The errata sets a load of `dataset` under `data_root` uses, given LoadOptions (see the module docstring)."""
    user = [s for s in options.user_errata() if s.dataset == dataset]
    if user:
        return user
    if not options.errata:
        return []
    synthetic = Path(data_root) / "_truth" / dataset / SYNTHETIC_FILE
    if synthetic.is_file() and (Path(data_root) / "_truth" / "corpus.json").is_file():
        return [read_errata(synthetic, origin="synthetic")]
    return builtin_errata(dataset)


# ----- applying --------------------------------------------------------------------------------------------------
def cell_key(value: Any) -> Any:
    """A cell as compared by errata: integer-like values (`355`, `'355'`, `355.0`, `'028'`) as ints, text stripped."""
    from harness.datasets.cells import as_int

    if value is None:
        return None
    n = as_int(value)
    if n is not None:
        return n
    text = str(value).strip()
    return text or None


def same_cell(a: Any, b: Any) -> bool:
    return cell_key(a) == cell_key(b)


def apply_errata(path: Path, sheet: str, header: Sequence[str], records: Iterable[tuple[int, dict[str, Any]]],
                 sets: Sequence[ErrataSet]) -> tuple[list[SheetRow], list[Problem], list[ErrataSet], list[ErrataSet]]:
    """Apply the sets that concern this file and sheet. Returns the rows; what was done, one Problem per
    correction (`corrected`; `note` when the copy already has the corrected value; `warning` when not applicable,
    once per set when none of its corrections applies); the sets whose file and sheet these are; and those that
    took effect (at least one correction found its row), which provenance names."""
    rows = [SheetRow(n, dict(values), dict(values)) for n, values in records]
    problems: list[Problem] = []
    matched = [s for s in sets if s.applies_to(Path(path), sheet)]
    effective = []
    columns = set(header)
    for s in matched:
        done = [_apply_one(str(path), s, c, rows, columns) for c in s.corrections]
        if done and all(p.severity == "warning" for p in done):  # not this release at all: say it once
            done = [Problem(str(path), f"errata {s.name}@{s.version} not applicable: none of its {len(done)} "
                                       f"correction(s) finds the row it names (first: {done[0].message}); "
                                       "nothing changed", severity="warning",
                            hint="is this the release the errata name? --no-errata silences this")]
        else:
            effective.append(s)
        problems.extend(done)
    return rows, problems, matched, effective


def _matches(r: SheetRow, c: Correction) -> bool:
    return all(same_cell(r.released.get(k), v) for k, v in c.identity.items())


def _target(c: Correction, s: ErrataSet, rows: list[SheetRow]) -> tuple[SheetRow | None, str]:
    """The row a correction names, or None and why not.

    One row with the identity: that row (wherever it now sits). Several (a clip holding several MEs, named without
    its onset): the rows of that identity holding the released value are paired, in sheet order, with the
    corrections of this set that name that identity, field and value, in row order, when there are exactly as many
    of each (so the pairing survives rows inserted above); else only an exact sheet row can still show that the
    copy is already corrected, and nothing is guessed.
    """
    ident = ", ".join(f"{k} {v}" for k, v in c.identity.items())
    found = [r for r in rows if _matches(r, c)]
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, f"no row has {ident}"
    siblings = sorted((o for o in s.corrections if o.identity == c.identity and o.field == c.field
                       and same_cell(o.released, c.released)), key=lambda o: o.row or 0)
    holding = [r for r in found if same_cell(r.released.get(c.field), c.released)]
    if len(holding) == len(siblings):
        return holding[siblings.index(c)], ""
    exact = next((r for r in found if r.number == c.row and same_cell(r.released.get(c.field), c.corrected)), None)
    if exact is not None:
        return exact, ""
    return None, (f"rows {', '.join(str(r.number) for r in found)} have {ident}, {len(holding)} of them "
                  f"{c.field} {_show(c.released)}, and the erratum cannot tell which is its row")


def _apply_one(file: str, s: ErrataSet, c: Correction, rows: list[SheetRow], columns: set[str]) -> Problem:
    named = f"erratum {s.name}@{s.version} ({_where(s, c)})"
    missing = [k for k in (*c.identity, c.field) if k not in columns]
    if missing:
        return Problem(file, f"{named} not applicable: the sheet has no column {', '.join(map(repr, missing))}",
                       row=c.row, column=c.field, severity="warning")
    row, why = _target(c, s, rows)
    if row is None:
        return Problem(file, f"{named} not applicable: {why}; nothing changed", row=c.row, column=c.field,
                       severity="warning", hint="is this the release the erratum names?")
    moved = "" if c.row in (None, row.number) else f" (the erratum names row {c.row}: the sheet's rows moved)"
    have = row.released.get(c.field)
    if same_cell(have, c.corrected):
        return Problem(file, f"{named}: {c.field} is already {_show(c.corrected)} in this copy{moved}",
                       row=row.number, column=c.field, severity="note")
    if not same_cell(have, c.released):
        return Problem(file, f"{named} not applicable: {c.field} is {_show(have)}, the erratum corrects the "
                             f"released value {_show(c.released)}{moved}; nothing changed", row=row.number,
                       column=c.field, severity="warning", hint="is this the release the erratum names?")
    row.values[c.field] = c.corrected
    alt = "".join(f"; {a['source']} has {_show(a['value'])}" for a in c.alternatives)
    why = f"{c.why}; " if c.why else ""
    return Problem(file, f"corrected {c.field} {_show(c.released)} -> {_show(c.corrected)} ({why}{s.name}@"
                         f"{s.version}, value from {c.source}{alt}){moved}", row=row.number, column=c.field,
                   severity="corrected")


def _show(value: Any) -> str:
    return "blank" if cell_key(value) is None else str(value).strip()


def _where(s: ErrataSet, c: Correction) -> str:
    return f"{s.path.name}, line {c.line}" if c.line else s.path.name


def unused_problems(sets: Sequence[ErrataSet], used: Iterable[ErrataSet], root: Path) -> list[Problem]:
    """A warning for each set whose annotation file this dataset folder does not have."""
    done = {id(s) for s in used}
    return [Problem(str(s.path), f"errata {s.name}@{s.version} not applied: the data root has no {s.file!r}"
                                 f"{' sheet ' + repr(s.sheet) if s.sheet else ''} under {root}",
                    severity="warning", hint="is this the release the errata name?")
            for s in sets if id(s) not in done]


def labels(sets: Sequence[ErrataSet]) -> list[str]:
    return [s.label for s in sets]
