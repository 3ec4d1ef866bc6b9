"""What the store accepts as a team or system name, and how any stored text is made safe to show.

Names reach markdown boards, PNG figures and terminals. Markdown and HTML are escaped at render time
(leaderboard/render.py); what escaping cannot fix is refused at submission: control characters (ANSI escapes
drive a terminal; a newline breaks a table), bidirectional and other invisible format characters (U+202E makes
"evil" read as "live"; U+200B hides a second name behind a look-alike), and overlong names (a 100,000-character
name made a 4.6 MB board that took 21 s to render). Text stored before these rules, and text the harness prints
that a bundle wrote (a traceback, a log), goes through `printable` / `shown_name` instead.
"""
from __future__ import annotations

import unicodedata

from harness.errors import BadInput

MAX_NAME = 64
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                       "Zl": "a line separator", "Zp": "a paragraph separator", "Cs": "a lone surrogate",
                       "Co": "a private-use character", "Cn": "an unassigned code point"}


def check_name(value: object, what: str) -> str:
    """`value` if it is fit to be a name on a board; BadInput (exit 2) saying why otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what} must be a non-empty text")
    if len(value) > MAX_NAME:
        raise BadInput(f"{what} is {len(value)} characters long; the limit is {MAX_NAME}")
    if value != value.strip():
        raise BadInput(f"{what} {value.strip()!r} has leading or trailing spaces")
    for i, ch in enumerate(value):
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            raise BadInput(f"{what} contains {kind} (U+{ord(ch):04X} at position {i + 1}); use letters, digits, "
                           "spaces and punctuation")
    return value


def printable(text: object, keep_newlines: bool = False, keep_tabs: bool = False) -> str:
    """`text` without the characters `check_name` refuses (optionally keeping newlines and tabs)."""
    keep = {"\n"} if keep_newlines else set()
    keep |= {"\t"} if keep_tabs else set()
    return "".join(ch for ch in str(text) if ch in keep or unicodedata.category(ch) not in _REFUSED_CATEGORIES)


def shown_name(text: object) -> str:
    """A stored name as boards and listings show it: printable, on one line, at most MAX_NAME characters."""
    s = " ".join(printable(text).split())
    return s if len(s) <= MAX_NAME else s[:MAX_NAME - 1] + "…"
