"""Reading and writing the annotation spreadsheets of the official releases.

Reading keeps spreadsheet row numbers, so that every problem names the row a user sees in Excel.
Writing is byte-deterministic (fixed zip timestamps and document properties): the synthetic corpus
promises identical bytes for an identical seed.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.errors import BadInput
from harness.fsutil import atomic_write_bytes

_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = "2020-01-01T00:00:00Z"


@dataclass
class Sheet:
    """A sheet as header + rows; `row_numbers[i]` is the 1-based spreadsheet row of `rows[i]`."""

    path: Path
    name: str
    header: list[str]
    header_row: int
    rows: list[list[Any]]
    row_numbers: list[int]

    def records(self) -> list[tuple[int, dict[str, Any]]]:
        return [(n, dict(zip(self.header, r))) for n, r in zip(self.row_numbers, self.rows)]


def _clean_header(cell: Any) -> str:
    return re.sub(r"\s+", " ", str(cell)).strip() if cell is not None else ""


def read_sheet(path: Path, sheet: str | None, required: Sequence[str]) -> Sheet:
    """Read `sheet` (or, when None, the first sheet that has the header), finding the header row as the first row
    holding every `required` column (SAMM puts a 13-row text preamble above its header; CAS(ME)^3 keeps empty
    sheets beside its data). Raises BadInput naming the file and what is missing.
    """
    from openpyxl import load_workbook  # lazy: keeps `harness --help` fast

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        raise BadInput(f"{path}: cannot be read as an .xlsx workbook ({exc}); re-export it from Excel as .xlsx") from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise BadInput(f"{path}: has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        candidates = [wb[sheet]] if sheet is not None else list(wb.worksheets)
        first = None
        for ws in candidates:
            raw = [list(r) for r in ws.iter_rows(values_only=True)]
            found = _with_header(path, ws.title, raw, required)
            if found is not None:
                return found
            first = first or (ws.title, raw)
    finally:
        wb.close()
    title, raw = first if first else ("", [])
    top = [_clean_header(c) for c in raw[0]] if raw else []
    missing = [c for c in required if c.lower() not in {n.lower() for n in top}]
    where = f"sheet {title!r}" if sheet is not None or len(candidates) == 1 else "any sheet"
    raise BadInput(
        f"{path} ({where}): no header row with the columns {', '.join(required)}; "
        f"missing {', '.join(missing)} in the first row ({', '.join(n for n in top if n) or 'empty'}). "
        "Is this the official annotation file?"
    )


def _with_header(path: Path, title: str, raw: list[list[Any]], required: Sequence[str]) -> Sheet | None:
    want = {c.lower() for c in required}
    for i, row in enumerate(raw[:50]):
        names = [_clean_header(c) for c in row]
        if want <= {n.lower() for n in names}:
            body, numbers = [], []
            for j, r in enumerate(raw[i + 1:], start=i + 2):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in r):
                    continue
                body.append(list(r) + [None] * (len(names) - len(r)))
                numbers.append(j)
            return Sheet(path, title, names, i + 1, body, numbers)
    return None


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str | None], Iterable[Sequence[Any]]]],
               preamble: dict[str, list[str]] | None = None, blank: dict[str, tuple[int, int]] | None = None) -> None:
    """Write sheets of (header, rows), optionally with text lines above the header, deterministically.

    A header cell None stays blank (CASME II's unnamed columns); `blank` adds sheets that hold only formatted
    empty cells, rows x columns (CAS(ME)^3's `Sheet1`), or nothing at all (0, 0).
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(title=name)
        for line in (preamble or {}).get(name, []):
            ws.append([line if line else None])
        ws.append(list(header))
        for r in rows:
            ws.append(list(r))
    for name, (n_rows, n_cols) in (blank or {}).items():
        ws = wb.create_sheet(title=name)
        for i in range(1, n_rows + 1):
            for j in range(1, n_cols + 1):
                ws.cell(row=i, column=j).number_format = "@"  # an empty cell that exists: formatted as text
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms)",
                              rb"\g<1>" + _FIXED_DOC_TIME.encode() + rb"\g<3>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    atomic_write_bytes(path, out.getvalue())
