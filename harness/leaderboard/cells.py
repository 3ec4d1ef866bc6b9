"""Cells and files shared by the board, its detail pages and its other formats: inert text, value [CI] cells,
the data label, and the write-if-changed rule (an unchanged board changes no file)."""
from __future__ import annotations

import html
import re
from pathlib import Path

from harness.fsutil import atomic_write_text
from harness.names import printable

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~$])")  # `$` too: GitHub renders $...$ as math


def inert(text: object) -> str:
    """Plain text for a markdown table cell: no control or bidirectional characters, HTML escaped, markdown
    specials backslash-escaped, one line."""
    s = " ".join(printable(text).split())
    s = html.escape(s, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s)


def ci_cell(m: dict, seeds: int = 1) -> str:
    """value [95% CI]; a multi-seed row shows its mean ± std over seeds beside the bootstrap interval."""
    std = f" ± {m['std']:.3f}" if seeds > 1 else ""
    return f"{m['value']:.4f}{std} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]"


def data_label(prov: dict) -> str:
    fp = str(prov.get("data_fingerprint") or "")[:8]
    kind = prov.get("data_kind", "data")
    return f"{kind} {fp}".strip()


def write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    atomic_write_text(path, text)
