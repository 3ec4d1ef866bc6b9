"""A protocol is data: which datasets, which classes in which order, how emotions map to classes, how samples
are split, what each phase allows. This module parses and validates one protocol file into frozen objects.

Class order is part of the contract: it fixes K for UF1/UAR and the index a prediction may use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BadInput, Problem, ValidationFailed
from harness.protocols.splits import SPLIT_KINDS, Limits, Phase, SplitKind, time_limit
from harness.registry import suggest

__all__ = ["EARLIEST", "Exclusion", "Limits", "Phase", "Protocol", "parse_protocol"]

EARLIEST = "earliest"   # the ranking key after the metrics: the earlier submission wins a tie


@dataclass(frozen=True)
class Exclusion:
    dataset: str
    sample_id: str
    reason: str


@dataclass(frozen=True)
class Protocol:
    name: str
    version: str
    title: str
    description: str
    datasets: tuple[str, ...]
    classes: tuple[str, ...]
    label_map: dict[str, dict[str, str]]   # dataset -> normalised emotion -> class
    split_kind: str                        # a name of harness.protocols.splits.SPLIT_KINDS
    train_split: str | None
    phases: dict[str, Phase]
    metrics: tuple[str, ...]
    ranking: tuple[str, ...]
    test_keyframes: bool
    exclusions: tuple[Exclusion, ...]
    exclusion_notes: tuple[str, ...]
    official_counts: dict[str, dict[str, Any]]  # split or dataset -> samples, subjects, classes {class: n}
    references: tuple[str, ...]
    board_keep: str = "latest"   # per (team, system) on a board: the latest or the best-ranked submission
    fold_time_limit_s: float | None = None   # a fold running longer is killed and the run fails (None: runner's)
    split_params: dict[str, Any] = field(default_factory=dict)   # what the split kind reads beyond its name
    report_parts: tuple[str, ...] = ()   # order of the per-dataset parts of a multi-dataset report
    path: Path | None = field(default=None, compare=False)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def multi_dataset(self) -> bool:
        return len(self.datasets) > 1

    @property
    def splitter(self) -> SplitKind:
        return SPLIT_KINDS.get(self.split_kind)

    def board_names(self) -> list[str | None]:
        """Leaderboards this protocol has: one per phase, or one (None) for a kind without phases."""
        return self.splitter.boards(self)

    def check_phase(self, phase: str | None) -> str | None:
        """Validate a --phase option against this protocol; returns the phase (None without phases)."""
        return self.splitter.check_phase(self, phase)

    @property
    def primary_metric(self) -> str:
        """The metric that ranks first (the boards' figure, the seeds column, `submissions list`)."""
        return next(r for r in self.ranking if r != EARLIEST)

    def metric_columns(self) -> list[str]:
        """The protocol's metrics as board columns: those that rank, in ranking order, then the others."""
        return [r for r in self.ranking if r in self.metrics] + [m for m in self.metrics if m not in self.ranking]

    def part_titles(self) -> dict[str, str]:
        """Dataset -> display name, in the order a multi-dataset protocol reports its per-dataset parts (its
        `report_parts`, else `datasets`); empty for a single dataset."""
        if not self.multi_dataset:
            return {}
        from harness.datasets import get_adapter

        return {d: get_adapter(d).title for d in self.report_parts or self.datasets}

    def class_index(self, name: str) -> int:
        return self.classes.index(name)

    def fold_time_limit(self, phase: str | None) -> float | None:
        """Seconds a fold of this protocol (phase) may run, if the protocol file says."""
        own = self.phases[phase].fold_time_limit_s if phase else None
        return own if own is not None else self.fold_time_limit_s


def _req(data: dict, key: str, typ, where: str, problems: list[Problem], default: Any = ...):
    if key not in data:
        if default is ...:
            problems.append(Problem(where, f"missing field {key!r}"))
            return None
        return default
    value = data[key]
    if typ is not None and not isinstance(value, typ):
        problems.append(Problem(where, f"field {key!r} must be {getattr(typ, '__name__', typ)}, "
                                       f"got {type(value).__name__}"))
        return None if default is ... else default
    return value


def _is_count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _check_counts(counts: Any, field: str, classes: list, where: str) -> list[Problem]:
    """official_counts.<split or dataset>: {samples: N, subjects: N, classes: {class: N, ...}}."""
    example = "e.g. {samples: 145, subjects: 24, classes: {negative: 88, positive: 32, surprise: 25}}"
    if not isinstance(counts, dict):
        return [Problem(where, f"{field} must map count names to integers, {example}", column=field)]
    out = []
    for k, n in counts.items():
        if k == "classes":
            if not isinstance(n, dict) or not all(_is_count(v) for v in n.values()):
                out.append(Problem(where, f"{field}.classes must map class names to integers, {example}",
                                   column=f"{field}.classes"))
                continue
            unknown = [c for c in n if c not in classes]
            if unknown:
                out.append(Problem(where, f"{field}.classes names {', '.join(map(repr, unknown))}, not a class of "
                                          "the protocol", column=f"{field}.classes"))
        elif not _is_count(n):
            out.append(Problem(where, f"{field}.{k} must be an integer, {example}", column=f"{field}.{k}"))
    return out


def parse_protocol(data: Any, path: Path) -> Protocol:
    """Validate a loaded protocol file; every problem is reported at once, naming the field."""
    where = str(path)
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ValidationFailed([Problem(where, "a protocol file must be a mapping of fields")], "bad protocol")
    name = _req(data, "name", str, where, problems)
    version = str(_req(data, "version", (str, int, float), where, problems) or "")
    classes = _req(data, "classes", list, where, problems) or []
    if len(set(classes)) != len(classes) or len(classes) < 2:
        problems.append(Problem(where, "classes must be at least two distinct names", column="classes"))
    datasets = _req(data, "datasets", list, where, problems) or []
    from harness.datasets import ADAPTERS
    for d in datasets:
        if d not in ADAPTERS:
            problems.append(Problem(where, f"unknown dataset {d!r} (known: {', '.join(ADAPTERS.names())})",
                                    column="datasets"))
    raw_map = _req(data, "label_map", dict, where, problems) or {}
    label_map: dict[str, dict[str, str]] = {}
    for d in datasets:
        m = raw_map.get(d)
        if not isinstance(m, dict) or not m:
            problems.append(Problem(where, f"label_map has no mapping for dataset {d!r}", column="label_map"))
            continue
        label_map[d] = {}
        for emo, cls in m.items():
            if cls not in classes:
                problems.append(Problem(where, f"label_map.{d}.{emo} maps to {cls!r}, which is not a class",
                                        column="label_map"))
            label_map[d][str(emo).strip().lower()] = cls
    split = _req(data, "split", dict, where, problems) or {}
    kind = split.get("kind")
    parsed: dict[str, Any] = {}
    if kind not in SPLIT_KINDS:
        problems.append(Problem(where, f"split.kind: {suggest(str(kind), SPLIT_KINDS.names(), 'split kind')}",
                                column="split.kind", hint="a split kind is registered in harness/protocols/splits.py"))
    else:
        parsed = SPLIT_KINDS.get(kind).parse(split, where, problems)
    phases: dict[str, Phase] = parsed.get("phases", {})
    train_split = parsed.get("train_split")
    from harness.scoring.metrics import DEFAULT_METRICS, METRICS

    metrics = tuple(_req(data, "metrics", list, where, problems, default=list(DEFAULT_METRICS)) or ())
    for m in metrics:
        if m not in METRICS:
            problems.append(Problem(where, suggest(m, METRICS.names(), "metric"), column="metrics",
                                    hint="a metric is registered in harness/scoring/metrics.py"))
    if not metrics or len(set(metrics)) != len(metrics):
        problems.append(Problem(where, "metrics must name at least one metric, each once", column="metrics"))
    ranking = tuple(_req(data, "ranking", list, where, problems, default=[*metrics, EARLIEST]) or ())
    for r in ranking:
        if r != EARLIEST and r not in metrics:
            problems.append(Problem(where, f"ranking key {r!r} is neither one of the protocol's metrics "
                                           f"({', '.join(metrics)}) nor {EARLIEST!r}", column="ranking"))
    if not any(r != EARLIEST for r in ranking):
        problems.append(Problem(where, "ranking must start from at least one of the protocol's metrics",
                                column="ranking"))
    exclusions = []
    for i, e in enumerate(_req(data, "exclude_samples", list, where, problems, default=[]) or []):
        if not isinstance(e, dict) or not {"dataset", "sample_id", "reason"} <= set(e):
            problems.append(Problem(where, f"exclude_samples[{i}] needs dataset, sample_id and reason"))
            continue
        if e["dataset"] not in datasets:
            problems.append(Problem(where, f"exclude_samples[{i}]: dataset {e['dataset']!r} is not one of the "
                                           f"protocol's datasets", column="exclude_samples"))
        exclusions.append(Exclusion(str(e["dataset"]), str(e["sample_id"]), str(e["reason"])))
    test_inputs = _req(data, "test_inputs", dict, where, problems, default={}) or {}
    board = _req(data, "leaderboard", dict, where, problems, default={}) or {}
    keep = board.get("keep", "latest")
    if keep not in ("latest", "best"):
        problems.append(Problem(where, f"leaderboard.keep must be 'latest' or 'best', got {keep!r}"))
    official = _req(data, "official_counts", dict, where, problems, default={}) or {}
    for split_name, counts in official.items():
        problems.extend(_check_counts(counts, f"official_counts.{split_name}", classes, where))
    report_parts = _req(data, "report_parts", list, where, problems, default=[]) or []
    if report_parts and sorted(report_parts) != sorted(datasets):
        problems.append(Problem(where, f"report_parts must list the protocol's datasets ({', '.join(datasets)}) "
                                       "each once, in the order their parts are reported", column="report_parts"))
    limit = time_limit(data, where, "", problems)
    if problems:
        raise ValidationFailed(problems, f"protocol file {path} is invalid")
    return Protocol(
        name=name, version=version, title=str(data.get("title", name)),
        description=str(data.get("description", "")).strip(), datasets=tuple(datasets), classes=tuple(classes),
        label_map=label_map, split_kind=kind, train_split=train_split, phases=phases, metrics=metrics,
        ranking=ranking, test_keyframes=bool(test_inputs.get("keyframes", True)), exclusions=tuple(exclusions),
        exclusion_notes=tuple(str(x).strip() for x in data.get("exclusion_notes", []) or []),
        official_counts={str(k): {c: (dict(n) if isinstance(n, dict) else n) for c, n in v.items()}
                         for k, v in official.items()},
        references=tuple(str(x) for x in data.get("references", []) or []), board_keep=keep,
        fold_time_limit_s=limit, split_params=dict(parsed.get("params", {})), report_parts=tuple(report_parts),
        path=path,
    )
