"""Published reference rows: scores that papers report on the REAL datasets, shown on the boards in their own,
unranked table. They are protocol inputs, so they live beside the protocol files: every `published/*.yaml` of a
protocol folder (`protocols/published/rows.yaml` for the shipped protocols, and the same under any folder of
HARNESS_PROTOCOLS_PATH). Each file is a list of rows:

    - {board: ccac2024-dfme/test_A, system: ..., team: ..., uf1: 0.41, uar: 0.42, acc: 0.49, source: "..."}

`board` is the protocol, or protocol/phase; a metric the protocol computes is a number in [0, 1]; `source` says
where the numbers come from; `note` is optional; `cite` ({authors, title, venue, year, doi or url}) and `where`
(the table) are what the board shows instead of `source`; `n` is the paper's test-set size where it gives one
(`n_note`: how it differs from ours); `parts` ({dataset: {metric: value}}) the per-dataset values of a composite
where the paper gives them; other fields are kept for the boards to show.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FOLDER = "published"
REQUIRED = ("board", "system", "source")


def published_files() -> list[Path]:
    from harness.protocols import protocol_dirs

    return [f for d in protocol_dirs() for f in sorted((d / FOLDER).glob("*.yaml"))]


@lru_cache(maxsize=16)
def _read(path: Path, mtime_ns: int) -> tuple[dict, ...]:
    from harness.errors import raise_if_errors
    from harness.schema import Fields, read_yaml
    from harness.scoring.metrics import METRICS

    data = read_yaml(path, "published rows file", shape=list, hint="a list of rows {board, system, source, uf1, ...}")
    rows, problems = [], []
    for i, item in enumerate(data):
        f = Fields(path, item, "published row", at=f"[{i}]", problems=problems)
        for key in REQUIRED:
            f.get(key)
        f.get("team", default="-")
        f.get("note", default="")
        score = lambda v: None if 0 <= v <= 1 else f"must be a score in [0, 1], not {v!r}"  # noqa: E731
        for m in METRICS.names():
            f.get(m, (int, float), default=None, check=score)
        f.get("n", int, default=None, check=lambda v: None if v > 0 else f"must be a positive sample count, not {v}")
        if "cite" in f:
            cite = f.sub("cite")
            for key in ("authors", "venue"):
                cite.get(key)
            cite.get("year", int)
            if not (cite.get("doi", default="") or cite.get("url", default="")):
                cite.add("", "a citation needs a doi or a url")
        for name in f.get("parts", dict, default={}) or {}:
            part = f.sub("parts").sub(str(name))
            for m in METRICS.names():
                part.get(m, (int, float), default=None, check=score)
        if isinstance(item, dict):
            rows.append(dict(item))
    raise_if_errors(problems, f"published rows file {path} is invalid")
    return tuple(rows)


def published_rows(protocol: str, phase: str | None, primary: str = "uf1") -> list[dict]:
    """The rows of one board (`protocol` or `protocol/phase`), best first by `primary`."""
    board = f"{protocol}/{phase}" if phase else protocol
    rows = [r for p in published_files() for r in _read(p, p.stat().st_mtime_ns) if r.get("board") == board]
    return sorted(rows, key=lambda r: -float(r.get(primary) or 0))
