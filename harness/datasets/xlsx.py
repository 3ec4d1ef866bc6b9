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
    """Read `sheet` (or the first one), finding the header row as the first row holding every `required`
    column (SAMM puts a text preamble above its header). Raises BadInput naming the file and what is missing.
    """
    from openpyxl import load_workbook  # lazy: keeps `harness --help` fast

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        raise BadInput(f"{path}: cannot be read as an .xlsx workbook ({exc}); re-export it from Excel as .xlsx")
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise BadInput(f"{path}: has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        raw = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    want = {c.lower() for c in required}
    for i, row in enumerate(raw[:50]):
        names = [_clean_header(c) for c in row]
        if want <= {n.lower() for n in names}:
            header = names
            body, numbers = [], []
            for j, r in enumerate(raw[i + 1:], start=i + 2):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in r):
                    continue
                body.append(list(r) + [None] * (len(header) - len(r)))
                numbers.append(j)
            return Sheet(path, ws.title, header, i + 1, body, numbers)
    first = [_clean_header(c) for c in raw[0]] if raw else []
    missing = [c for c in required if c.lower() not in {n.lower() for n in first}]
    raise BadInput(
        f"{path} (sheet {ws.title!r}): no header row with the columns {', '.join(required)}; "
        f"missing {', '.join(missing)} in the first row ({', '.join(n for n in first if n) or 'empty'}). "
        "Is this the official annotation file?"
    )


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str], Iterable[Sequence[Any]]]],
               preamble: dict[str, list[str]] | None = None) -> None:
    """Write sheets of (header, rows), optionally with text lines above the header, deterministically."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(title=name)
        for line in (preamble or {}).get(name, []):
            ws.append([line])
        ws.append(list(header))
        for r in rows:
            ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms)",
                              rb"\g<1>" + _FIXED_DOC_TIME.encode() + rb"\g<3>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    tmp.replace(path)
