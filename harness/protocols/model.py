"""A protocol is data: which datasets, which classes in which order, how emotions map to classes, how samples
are split, what each phase allows. This module parses and validates one protocol file into frozen objects.

Class order is part of the contract: it fixes K for UF1/UAR and the index a prediction may use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.protocols.splits import SPLIT_KINDS, Limits, Phase, SplitKind, time_limit
from harness.registry import suggest
from harness.schema import Fields

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


def _is_count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _check_counts(counts: Fields, classes: list) -> None:
    """official_counts.<split or dataset>: {samples: N, subjects: N, classes: {class: N, ...}}."""
    example = "e.g. {samples: 145, subjects: 24, classes: {negative: 88, positive: 32, surprise: 25}}"
    for k, n in counts.data.items():
        if k == "classes":
            if not isinstance(n, dict) or not all(_is_count(v) for v in n.values()):
                counts.add(k, "must map class names to integers", hint=example)
                continue
            unknown = [c for c in n if c not in classes]
            if unknown and classes:
                counts.add(k, f"names {', '.join(map(repr, unknown))}, not a class of the protocol")
        elif not _is_count(n):
            counts.add(k, f"must be an integer, not {n!r}", hint=example)


def _classes_check(classes: list) -> str | None:
    if len(classes) < 2 or len(set(map(str, classes))) != len(classes):
        return "must be at least two distinct names"
    return None


def parse_protocol(data: Any, path: Path) -> Protocol:
    """Validate a loaded protocol file; every problem is reported at once, naming the file and the key
    (harness.schema)."""
    from harness.datasets import ADAPTERS
    from harness.scoring.metrics import DEFAULT_METRICS, METRICS

    f = Fields(path, data, "protocol file")
    if f.broken:
        f.done()
    name = f.get("name")
    version = str(f.get("version", (str, int, float)) or "")
    classes = f.get("classes", list, check=_classes_check)
    known_classes = classes is not None   # a wrong class list is one problem, not one per label_map entry
    classes = classes or []
    datasets = f.get("datasets", list) or []
    for d in datasets:
        if d not in ADAPTERS:
            f.add("datasets", f"unknown dataset {d!r} (known: {', '.join(ADAPTERS.names())})",
                  hint="a dataset is an adapter in harness/datasets/adapters/")
    raw_map = f.sub("label_map", required=True, hint="dataset -> {emotion as released: class}")
    label_map: dict[str, dict[str, str]] = {}
    for d in datasets:
        m = raw_map.data.get(d)
        if not isinstance(m, dict) or not m:
            if not raw_map.broken:
                raw_map.add(d, f"no mapping for dataset {d!r}", hint="map its emotions to the protocol's classes")
            continue
        label_map[d] = {}
        for emo, cls in m.items():
            if known_classes and cls not in classes:
                raw_map.add(f"{d}.{emo}", f"maps to {cls!r}, which is not a class ({', '.join(map(str, classes))})")
            label_map[d][str(emo).strip().lower()] = cls
    split = f.sub("split", required=True, hint="split: {kind: loso} or {kind: phases, train: ..., phases: ...}")
    kind = split.get("kind", check=lambda k: None if k in SPLIT_KINDS else suggest(k, SPLIT_KINDS.names(),
                                                                                     "split kind"),
                     hint="a split kind is registered in harness/protocols/splits.py")
    parsed = SPLIT_KINDS.get(kind).parse(split) if kind is not None else {}
    phases: dict[str, Phase] = parsed.get("phases", {})
    metrics = tuple(f.get("metrics", list, default=list(DEFAULT_METRICS)) or ())
    for m in metrics:
        if m not in METRICS:
            f.add("metrics", suggest(m, METRICS.names(), "metric"),
                  hint="a metric is registered in harness/scoring/metrics.py")
    if not metrics or len(set(metrics)) != len(metrics):
        f.add("metrics", "must name at least one metric, each once")
    ranking = tuple(f.get("ranking", list, default=[*metrics, EARLIEST]) or ())
    for r in ranking:
        if r != EARLIEST and r not in metrics:
            f.add("ranking", f"{r!r} is neither one of the protocol's metrics ({', '.join(metrics)}) nor "
                             f"{EARLIEST!r}")
    if not any(r != EARLIEST for r in ranking):
        f.add("ranking", "must start from at least one of the protocol's metrics")
    exclusions = []
    for e in f.items("exclude_samples"):
        dataset, sample_id, reason = e.get("dataset"), e.get("sample_id", (str, int)), e.get("reason")
        if dataset is not None and dataset not in datasets:
            e.add("dataset", f"{dataset!r} is not one of the protocol's datasets ({', '.join(datasets)})")
        if None not in (dataset, sample_id, reason):
            exclusions.append(Exclusion(str(dataset), str(sample_id), str(reason)))
    test_inputs = f.sub("test_inputs")
    keyframes = test_inputs.get("keyframes", bool, default=True)
    keep = f.sub("leaderboard").get("keep", default="latest", choices=("latest", "best"))
    official = f.sub("official_counts")
    for split_name in official.data:
        _check_counts(official.sub(split_name, required=True), classes)
    report_parts = f.get("report_parts", list, default=[]) or []
    if report_parts and sorted(map(str, report_parts)) != sorted(datasets):
        f.add("report_parts", f"must list the protocol's datasets ({', '.join(datasets)}) each once, in the order "
                              "their per-dataset parts are reported")
    limit = time_limit(f)
    f.done(f"protocol file {path} is invalid")
    return Protocol(
        name=name, version=version, title=str(f.get("title", default=name)),
        description=str(f.get("description", default="")).strip(), datasets=tuple(datasets),
        classes=tuple(classes), label_map=label_map, split_kind=kind, train_split=parsed.get("train_split"),
        phases=phases, metrics=metrics, ranking=ranking, test_keyframes=keyframes, exclusions=tuple(exclusions),
        exclusion_notes=tuple(str(x).strip() for x in f.get("exclusion_notes", list, default=[])),
        official_counts={str(k): {c: (dict(n) if isinstance(n, dict) else n) for c, n in v.items()}
                         for k, v in official.data.items()},
        references=tuple(str(x) for x in f.get("references", list, default=[])), board_keep=keep,
        fold_time_limit_s=limit, split_params=dict(parsed.get("params", {})), report_parts=tuple(report_parts),
        path=path,
    )
