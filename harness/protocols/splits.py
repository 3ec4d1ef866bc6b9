"""Split kinds, as a registry of small classes: how a protocol's samples become folds.

A protocol file names its kind in `split.kind`; the class validates the rest of `split:`, makes the folds of a
task, says what its boards are and how a split is described. Shipped: `loso` (one fold per subject, subjects
dataset-qualified) and `phases` (a fixed training split against each phase's test split, one board per phase).
The next kind (k-fold over subjects, leave-one-dataset-out) is one class with `@SPLIT_KINDS.register(name)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import BadInput, Problem
from harness.registry import Registry, suggest
from harness.schema import Fields

LIMITS = ("per_team_per_day", "per_team_total")


def _positive_count(value: int) -> str | None:
    return None if value >= 1 else f"must be a positive integer, not {value!r}"


@dataclass(frozen=True)
class Limits:
    """Submission limits of a phase. Failed submissions never count (Codabench convention)."""

    per_team_per_day: int | None = None
    per_team_total: int | None = None

    def describe(self) -> str:
        parts = []
        if self.per_team_per_day is not None:
            parts.append(f"{self.per_team_per_day} scored per team per day (UTC)")
        if self.per_team_total is not None:
            parts.append(f"{self.per_team_total} scored per team in total")
        return "; ".join(parts) + ("; failed submissions do not count" if parts else "no limit")


@dataclass(frozen=True)
class Phase:
    name: str
    split: str          # the dataset split value whose samples form this phase's test set
    limits: Limits
    description: str = ""
    fold_time_limit_s: float | None = None   # overrides the protocol's (Codabench's execution_time_limit)


def _positive_seconds(value: Any) -> str | None:
    return None if value > 0 else f"must be a positive number of seconds, not {value!r}"


def time_limit(fields: Fields) -> float | None:
    """`fold_time_limit_s` of a protocol or a phase: a positive number of seconds, or absent."""
    value = fields.get("fold_time_limit_s", (int, float), default=None, check=_positive_seconds,
                       hint="a fold running longer is killed and the run fails")
    return None if value is None else float(value)


@dataclass(frozen=True)
class Fold:
    name: str
    train: tuple[int, ...]  # row positions in Task.table
    test: tuple[int, ...]


def positions(mask) -> tuple[int, ...]:
    import numpy as np

    return tuple(int(i) for i in np.flatnonzero(mask))


class SplitKind:
    """One way of splitting. Subclasses set `name` and implement `folds`; the rest has defaults for kinds with
    one board and every sample tested once (LOSO-like)."""

    name = ""
    phased = False           # a fixed training split and named test phases, one board each
    fold_batched = False     # every fold trains on most of the data: `--fold-batched` may stack them

    def parse(self, split: Fields) -> dict[str, Any]:
        """Validate `split:` beyond `kind` (problems go to `split.add`, naming the key); returns what the Protocol
        keeps (`train_split`, `phases`, `params`)."""
        return {}

    def folds(self, task: Any, phase: str | None) -> list[Fold]:
        raise NotImplementedError

    def boards(self, proto: Any) -> list[str | None]:
        return list(proto.phases) if self.phased else [None]

    def check_phase(self, proto: Any, phase: str | None) -> str | None:
        """Validate a --phase option; returns the phase (None for a kind without phases)."""
        if not self.phased:
            if phase not in (None, "", self.name):
                raise BadInput(f"protocol {proto.name} is {self.title} and has no phases; drop --phase {phase}")
            return None
        if not phase:
            raise BadInput(f"protocol {proto.name} has phases {', '.join(proto.phases)}: choose one with --phase")
        if phase not in proto.phases:
            raise BadInput(f"protocol {proto.name}: {suggest(phase, list(proto.phases), 'phase')}")
        return phase

    @property
    def title(self) -> str:
        """In messages: "protocol X is <title> and has no phases"."""
        return self.name

    def summary(self, proto: Any) -> str:
        """The split column of `harness protocols`."""
        return self.title

    def evaluation_note(self) -> str:
        """A sentence on how scores pool over this kind's folds (the exported evaluation page)."""
        return ""

    def unused(self, proto: Any, split: str) -> bool:
        """Rows of this release split take no part in the protocol (excluded, with that reason)."""
        return False

    def unlabelled_allowed(self, proto: Any, split: str) -> bool:
        """A row of this split may come without its emotion (a participant's test file): usable, not scorable."""
        return False

    def summary_by(self) -> str:
        """The table column whose values `harness protocols show` counts samples by."""
        return "dataset"

    def check(self, task: Any) -> list[Problem]:
        """Problems of the data under this split (empty: usable)."""
        return []


SPLIT_KINDS: Registry[SplitKind] = Registry("split kind")


def register_split_kind(cls: type[SplitKind]) -> type[SplitKind]:
    SPLIT_KINDS.register(cls.name, cls())
    return cls


@register_split_kind
class Loso(SplitKind):
    """Leave one subject out: one fold per subject (dataset/subject), the rest trains."""

    name = "loso"
    fold_batched = True

    def folds(self, task, phase):
        groups = task.table["group"].to_numpy()
        return [Fold(g, positions(groups != g), positions(groups == g)) for g in sorted(set(groups))]

    @property
    def title(self):
        return "leave-one-subject-out"

    def summary(self, proto):
        return "LOSO (one fold per subject)"

    def evaluation_note(self):
        return (" Leave-one-subject-out: every sample is predicted by the model that did not see its subject; the "
                "metrics are computed once on all predictions pooled over the folds (MEGC convention), not averaged "
                "per fold.")


@register_split_kind
class Phases(SplitKind):
    """A fixed training split against each phase's own test split (CCAC's test_A / test_B)."""

    name = "phases"
    phased = True

    def parse(self, split):
        train_split = split.get("train", hint="the split value of the training samples")
        raw = split.sub("phases", hint="map phase names to {split, limits}")
        phases = {}
        for pname in raw.data:
            p = raw.sub(pname, required=True)
            test_split = p.get("split", hint="the split value of this phase's test samples")
            lim = p.sub("limits", hint="per_team_per_day, per_team_total")
            lim.refuse_unknown(LIMITS)
            limits = {k: lim.get(k, int, default=None, check=_positive_count) for k in LIMITS}
            if test_split is not None:
                phases[pname] = Phase(pname, test_split, Limits(**limits),
                                      str(p.get("description", default="")).strip(), time_limit(p))
        if not raw.data and not raw.broken:
            split.add("phases", "a phases protocol needs at least one phase")
        return {"train_split": train_split, "phases": phases}

    def folds(self, task, phase):
        proto = task.protocol
        split = task.table["split"].to_numpy()
        return [Fold(phase, positions(split == proto.train_split), positions(split == proto.phases[phase].split))]

    def summary(self, proto):
        return "phases " + ", ".join(f"{n} ({p.limits.describe()})" for n, p in proto.phases.items())

    def unused(self, proto, split):
        return split != proto.train_split and split not in {p.split for p in proto.phases.values()}

    def unlabelled_allowed(self, proto, split):
        return split in {p.split for p in proto.phases.values()}

    def summary_by(self):
        return "split"

    def check(self, task):
        proto, t = task.protocol, task.table
        where = str(task.data_root)
        problems = []
        train = t[t["split"] == proto.train_split]
        if len(train) == 0:
            problems.append(Problem(where, f"no samples in the training split {proto.train_split!r}"))
        if train["label"].isna().any():
            problems.append(Problem(where, "training samples without labels"))
        seen = {"train": set(train["group"])}
        for name, phase in proto.phases.items():
            part = t[t["split"] == phase.split]
            if len(part) == 0:
                problems.append(Problem(where, f"phase {name}: no samples in split {phase.split!r}"))
            subjects = set(part["group"])
            for other, subs in seen.items():
                shared = subjects & subs
                if shared:
                    problems.append(Problem(where, f"phase {name} shares {len(shared)} subject(s) with {other} "
                                                   f"(e.g. {sorted(shared)[0]}); the splits must be subject-disjoint"))
            seen[name] = subjects
        return problems
