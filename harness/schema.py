"""One small schema mechanism for every declarative file the harness reads: protocols, bundle manifests,
expectations, errata, the reviewed-bundles list and the published reference rows.

A file is read once (`read_yaml`: a missing file, bad YAML or the wrong top-level shape is one clear error), then
its fields are taken through `Fields`, which collects every problem of the file in one pass, each naming the file,
the key path (`split.phases.test_A.limits`, `checks[2].expect.uf1`) and, where it helps, what to do; `done` raises
them together (ValidationFailed, exit 2). Why not jsonschema or pydantic: no new dependency, and the messages must
be in the harness's words, with the same shape for every file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from harness.errors import BadInput, Problem, ValidationFailed, raise_if_errors

REQUIRED: Any = object()   # `default` of a field that must be given

_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true or false", list: "a list",
          dict: "a mapping"}


def type_words(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    if int in types and float in types:   # "an integer or a number" says less than "a number"
        types = tuple(t for t in types if t is not int)
    return " or ".join(_NAMES.get(t, t.__name__) for t in types)


def read_yaml(path: Path | str, what: str, shape: type = dict, hint: str = "") -> Any:
    """The parsed content of a YAML file the user (or the repository) hands us; `what` names the kind of file in
    messages ("bundle manifest", "expectations file"). An empty file reads as an empty `shape`."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{what} {path} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return shape()
    if not isinstance(data, shape):
        raise ValidationFailed([Problem(str(path), f"a {what} must be {type_words(shape)}, not {type_words(type(data))}",
                                        hint=hint or None)], f"{what} {path} is invalid")
    return data


class Fields:
    """The fields of one mapping in one file. Problems are collected (shared with the `sub` readers of nested
    mappings) and raised together by `done`."""

    def __init__(self, file: Path | str, data: Any, what: str, at: str = "", problems: list[Problem] | None = None,
                 row: int | None = None):
        self.file, self.what, self.at, self.row = str(file), what, at, row
        self.problems: list[Problem] = [] if problems is None else problems
        self.broken = not isinstance(data, dict)   # reported once here; its fields are then not asked for
        if self.broken:
            self.add("", f"must be a mapping of fields, not {type_words(type(data))}")
            data = {}
        self.data: dict = data

    def key(self, name: str | int) -> str:
        """The key path of a field of this mapping."""
        if isinstance(name, int):
            return f"{self.at}[{name}]"
        return f"{self.at}.{name}" if self.at and name else (self.at or name)

    def add(self, name: str | int, message: str, hint: str | None = None, severity: str = "error") -> None:
        self.problems.append(Problem(self.file, message, row=self.row, key=self.key(name) or None, hint=hint,
                                     severity=severity))

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, types: type | tuple[type, ...] | None = str, default: Any = REQUIRED,
            choices: Iterable[Any] | None = None, check: Callable[[Any], str | None] | None = None,
            hint: str | None = None) -> Any:
        """The value of `name`, checked; on a problem it is recorded and `default` (None if required) returned.
        A required text must not be blank. `check(value)` returns what is wrong, or None."""
        if self.broken:
            return None if default is REQUIRED else default
        if name not in self.data or self.data[name] is None or (default is REQUIRED and self.data[name] == ""):
            if default is REQUIRED:
                self.add(name, "missing field", hint=hint)
                return None
            return default
        value = self.data[name]
        fallback = None if default is REQUIRED else default
        if types is not None:
            wanted = types if isinstance(types, tuple) else (types,)
            if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
                self.add(name, f"must be {type_words(types)}, not {value!r}", hint=hint)
                return fallback
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                self.add(name, f"must be one of {', '.join(map(str, choices))}, not {value!r}", hint=hint)
                return fallback
        if check is not None:
            wrong = check(value)
            if wrong:
                self.add(name, wrong, hint=hint)
                return fallback
        return value

    def sub(self, name: str, required: bool = False, hint: str | None = None) -> Fields:
        """The fields of the mapping under `name`: an empty one when it is absent (a problem if `required`), a
        broken one, reported once, when it is not a mapping."""
        value = self.data.get(name)
        if value is None:
            if required and not self.broken:
                self.add(name, "missing field", hint=hint)
            value = {}
        elif not isinstance(value, dict):
            self.add(name, f"must be a mapping, not {value!r}", hint=hint)
            sub = Fields(self.file, {}, self.what, self.key(name), [], self.row)
            sub.problems, sub.broken = self.problems, True
            return sub
        return Fields(self.file, value, self.what, self.key(name), self.problems, self.row)

    def items(self, name: str, lines: list[int] | None = None) -> Iterator[Fields]:
        """The fields of each mapping in the list under `name` (`lines`: the 1-based line of each item)."""
        for i, item in enumerate(self.get(name, list, default=[])):
            row = lines[i] if lines and i < len(lines) else self.row
            yield Fields(self.file, item, self.what, self.key(name) + f"[{i}]", self.problems, row)

    def refuse_unknown(self, known: Iterable[str]) -> None:
        """A key that is not one of `known` is a problem ("did you mean"), so a typo does not pass silently."""
        from harness.registry import suggest

        known = list(known)
        for name in self.data:
            if name not in known:
                self.add(str(name), suggest(str(name), known, "field"))

    def done(self, title: str | None = None) -> None:
        """Raise every error found so far (ValidationFailed, exit 2)."""
        raise_if_errors(self.problems, title or f"{self.what} {self.file} is invalid")
