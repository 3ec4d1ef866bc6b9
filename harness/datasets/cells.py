"""Cells of an annotation sheet as the releases write them: frame numbers as numbers or text, labels in any
case, action units as numbers or text. Shared by the adapters and the errata (which compare cells)."""
from __future__ import annotations

import math
import re
from typing import Any


def normalise_label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = re.sub(r"\s+", " ", str(value)).strip().lower()
    return text or None


def as_int(value: Any) -> int | None:
    """Frame numbers arrive as int, float, numeric text, '/', '-1' or blank. None when not a frame number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int,)):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or value != int(value) else int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    return None


def cell_text(value: Any) -> str:
    """A text cell as written: DFME stores an AU such as `4` as a number beside `4+23` as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
