"""Protocol + data root -> Task: the samples a protocol uses, their classes, and its folds.

Exclusions are never silent: every excluded row keeps its reason (a protocol's explicit list, an unmapped
emotion, key frames that contradict with no erratum covering them), `exclusion_summary()` counts them, and an
explicit exclusion that matches no sample is reported, not ignored. Subjects are dataset-qualified (`group` =
dataset + subject), so that composite protocols never merge two datasets' "sub01". The folds are the protocol's
split kind's (harness/protocols/splits.py): one per subject for LOSO, the fixed training split against one
phase's test split for phases.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BadInput, Problem, ValidationFailed, raise_if_errors
from harness.protocols.model import Protocol
from harness.protocols.splits import Fold

__all__ = ["Fold", "Task", "UNLABELLED", "build_task"]

UNLABELLED = "unlabelled"


@dataclass
class Task:
    protocol: Protocol
    data_root: Path
    table: object      # pandas.DataFrame: TABLE_COLUMNS + uid, label, label_index, group
    excluded: object   # pandas.DataFrame: TABLE_COLUMNS + reason
    warnings: list[Problem] = field(default_factory=list)   # every problem short of an error (and corrections)
    annotation_files: list[Path] = field(default_factory=list)
    errata: dict[str, list[str]] = field(default_factory=dict)  # dataset -> errata sets applied (name@version)
    unmatched_exclusions: list = field(default_factory=list)    # protocol exclusions that match no sample

    # ----- splits ------------------------------------------------------------------------------------------
    def folds(self, phase: str | None = None) -> list[Fold]:
        phase = self.protocol.check_phase(phase)
        return self.protocol.splitter.folds(self, phase)

    def test_positions(self, phase: str | None = None) -> list[int]:
        """Rows scored by this protocol/phase: every sample for LOSO (each is tested once), the phase's split."""
        return sorted(i for f in self.folds(phase) for i in f.test)

    def test_table(self, phase: str | None = None):
        return self.table.iloc[self.test_positions(phase)]

    def test_folds(self, phase: str | None = None) -> list[str]:
        """The fold that tests each row of `test_table(phase)`, in its order."""
        fold_of = {i: f.name for f in self.folds(phase) for i in f.test}
        return [fold_of[i] for i in self.test_positions(phase)]

    def has_labels(self, phase: str | None = None) -> bool:
        return bool(self.test_table(phase)["label"].notna().all())

    # ----- reporting ---------------------------------------------------------------------------------------
    def exclusion_summary(self) -> list[tuple[str, int]]:
        if len(self.excluded) == 0:
            return []
        counts = self.excluded.groupby("reason", sort=True).size()
        return [(str(r), int(n)) for r, n in counts.items()]

    def split_summary(self) -> dict[str, dict[str, object]]:
        """Per split (phases) or per dataset (LOSO): samples, subjects, class counts."""
        t = self.table
        splitter = self.protocol.splitter
        key = splitter.summary_by()
        out: dict[str, dict[str, object]] = {}
        for value, part in t.groupby(key, sort=False):
            name = value
            if key == "split":
                name = next((p for p, ph in self.protocol.phases.items() if ph.split == value), value)
                if value == self.protocol.train_split:
                    name = "train"
            counts = part["label"].fillna(UNLABELLED).value_counts()
            out[str(name)] = {
                "samples": int(len(part)),
                "subjects": int(part["group"].nunique()),
                "classes": {c: int(counts.get(c, 0)) for c in [*self.protocol.classes, UNLABELLED]
                            if counts.get(c, 0) or c != UNLABELLED},
            }
        if not splitter.phased:
            out["all"] = {"samples": int(len(t)), "subjects": int(t["group"].nunique()),
                          "folds": int(t["group"].nunique()),
                          "classes": {c: int((t["label"] == c).sum()) for c in self.protocol.classes}}
        return out

    def official_count_mismatches(self) -> list[str]:
        """Differences from the counts the official annotation files give, class by class (empty when all match):
        a test set off by one sample can have the right totals and a different score."""
        summary = self.split_summary()
        out = []
        for split, want in self.protocol.official_counts.items():
            have = summary.get(split, {})
            for k, v in want.items():
                if k == "classes":
                    got = have.get("classes", {})
                    out.extend(f"{split}: class {c} {got.get(c, 0)} (official release: {n})"
                               for c, n in v.items() if got.get(c, 0) != n)
                elif have.get(k) != v:
                    out.append(f"{split}: {k} {have.get(k)} (official release: {v})")
        return out

    def errata_versions(self) -> dict[str, str]:
        """Per dataset, the errata applied ('none' when no set applied): named in provenance and the fingerprint."""
        return {d: "; ".join(self.errata.get(d) or []) or "none" for d in self.protocol.datasets}

    def corrections(self) -> list[Problem]:
        return [p for p in self.warnings if p.severity == "corrected"]


def build_task(protocol: Protocol, data_root: Path, check_frames: bool = True, options=None) -> Task:
    """Load every dataset of `protocol` from `data_root`, map labels, apply exclusions, check the split.
    `options` (harness.datasets.policy.LoadOptions): errata and --strict."""
    import pandas as pd

    from harness.datasets import load_dataset

    tables, problems, files, errata = [], [], [], {}
    for key in protocol.datasets:
        result = load_dataset(data_root, key, check_frames=check_frames, options=options)
        tables.append(result.table)
        problems.extend(result.problems)
        files.extend(result.files)
        errata[key] = result.errata
    warnings = raise_if_errors(problems, f"data root {data_root} has problems (see `harness data check`)")
    table = pd.concat(tables, ignore_index=True)

    reasons: list[str | None] = []
    labels: list[str | None] = []
    explicit = {(e.dataset, e.sample_id): e.reason for e in protocol.exclusions}
    splitter = protocol.splitter
    for row in table.itertuples(index=False):
        reason, label = None, None
        if splitter.unused(protocol, row.split):
            reason = f"split {row.split!r} is not used by the protocol"
        elif isinstance(row.defect, str):
            reason = row.defect
        elif (row.dataset, row.sample_id) in explicit:
            reason = explicit[(row.dataset, row.sample_id)]
        elif row.emotion is None or (isinstance(row.emotion, float)):
            if splitter.unlabelled_allowed(protocol, row.split):
                label = None  # a participant's test file without labels: usable, not scorable
            else:
                reason = f"{row.dataset}: no emotion label"
        else:
            label = protocol.label_map[row.dataset].get(row.emotion)
            if label is None:
                reason = f"{row.dataset}: emotion {row.emotion!r} is not mapped to a class"
        reasons.append(reason)
        labels.append(label)
    present = set(zip(table["dataset"], table["sample_id"]))
    unmatched = [e for e in protocol.exclusions if (e.dataset, e.sample_id) not in present]
    for e in unmatched:
        warnings.append(Problem(str(protocol.path), f"exclude_samples names {e.dataset} {e.sample_id!r}, which "
                                                    "matches no sample of the data: nothing was excluded for it",
                                column="exclude_samples", severity="note"))
    table["reason"] = reasons
    table["label"] = labels
    excluded = table[table["reason"].notna()].drop(columns=["label"]).reset_index(drop=True)
    kept = table[table["reason"].isna()].drop(columns=["reason"]).reset_index(drop=True)
    kept["uid"] = (kept["dataset"] + "/" + kept["sample_id"]) if protocol.multi_dataset else kept["sample_id"]
    kept["group"] = kept["dataset"] + "/" + kept["subject"].astype(str)
    # pandas >= 3 stores a missing label as NaN (string dtype), not None: test for a class name, not for None
    kept["label_index"] = pd.array([protocol.classes.index(c) if isinstance(c, str) else pd.NA for c in kept["label"]],
                                   dtype="Int64")
    if kept["uid"].duplicated().any():
        dup = kept.loc[kept["uid"].duplicated(), "uid"].tolist()[:5]
        raise BadInput(f"sample ids are not unique within protocol {protocol.name}: {', '.join(dup)}")
    if len(kept) == 0:
        raise BadInput(f"protocol {protocol.name} keeps no samples from {data_root}")
    task = Task(protocol, Path(data_root), kept, excluded, warnings, files, errata, unmatched)
    problems = splitter.check(task)
    if problems:
        raise ValidationFailed(problems, f"protocol {protocol.name}: invalid split")
    return task
