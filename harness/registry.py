"""A string-keyed registry with "did you mean" errors (after lm-evaluation-harness and timm).

Entries may be objects or lazy "module:attr" strings, so that listing names never imports heavy code.
"""
from __future__ import annotations

import difflib
import importlib
import threading
from typing import Callable, Generic, Iterator, TypeVar

from harness.errors import BadInput

T = TypeVar("T")


class UnknownName(BadInput):
    """Raised for a name that is not registered; the message suggests close names and lists all."""


def suggest(name: str, choices: list[str], kind: str) -> str:
    """"unknown KIND 'name'; did you mean ...? Known KINDs: ..." (a case-only difference is suggested first)."""
    same_case = [c for c in choices if c.lower() == str(name).lower()]
    close = same_case + [c for c in difflib.get_close_matches(name, choices, n=3, cutoff=0.5) if c not in same_case]
    close = close[:3]
    msg = f"unknown {kind} {name!r}"
    if close:
        msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    msg += f" Known {kind}s: {', '.join(sorted(choices)) or '(none)'}"
    return msg


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._lock = threading.Lock()

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | T | str:
        """Register `obj` (or a lazy "module:attr" string) under `name`; usable as a decorator."""
        if obj is None:
            def deco(o: T) -> T:
                self.register(name, o)
                return o
            return deco
        with self._lock:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove an entry (a test's or a plugin's, when it is unloaded); an unknown name is an error."""
        with self._lock:
            if name not in self._entries:
                raise UnknownName(suggest(name, list(self._entries), self.kind))
            del self._entries[name]

    def get(self, name: str) -> T:
        with self._lock:
            if name not in self._entries:
                raise UnknownName(suggest(name, list(self._entries), self.kind))
            entry = self._entries[name]
            if isinstance(entry, str) and ":" in entry:
                module, attr = entry.split(":", 1)
                entry = getattr(importlib.import_module(module), attr)
                self._entries[name] = entry
            return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
