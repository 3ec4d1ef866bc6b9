"""Tiers of a board: which measured rows cannot be told apart from the one above them.

Two rows 0.001 apart with intervals 0.2 wide should not read as first and second. The top row opens tier 1;
every lower row that a paired permutation test over subjects (harness.scoring.compare) cannot distinguish from
it at ALPHA on the ranking metric joins that tier; the best row left opens the next tier, and so on. A row can
be paired only with rows scored on the same subjects whose report kept its per-subject matrices; others get
no tier (shown as "—", with the reason).
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.scoring.compare import ALPHA, DEFAULT_PERMUTATIONS, DEFAULT_SEED

METHOD = ("Tier: rows in one tier cannot be told apart from the tier's first row on {metric} by a two-sided "
          "paired permutation test over subjects ({permutations} permutations, the two rows' predictions swapped "
          "subject by subject, α = {alpha}, no correction for multiple comparisons); the best row not in a tier "
          "opens the next. `harness compare A B` gives the full paired test (Δ, 95% CI, p) of any two rows.")


@dataclass(frozen=True)
class Tier:
    tier: int | None        # None: not paired (why says it)
    p: float | None         # p-value against the tier's first row (None for the first row itself)
    why: str = ""


def _matrices(row: dict):
    import numpy as np

    stored = (row.get("report") or {}).get("per_subject")
    if not stored:
        return None
    return stored["subjects"], np.asarray(stored["confusion"], dtype=float)


def assign_tiers(rows: list[dict], metric: str, alpha: float = ALPHA,
                 permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED) -> dict[int, Tier]:
    """Submission id -> Tier, for rows in rank order."""
    from harness.scoring.compare import align, permutation_p

    out: dict[int, Tier] = {}
    mats = {r["id"]: _matrices(r) for r in rows}
    for r in rows:
        if mats[r["id"]] is None:
            out[r["id"]] = Tier(None, None, "scored before per-subject matrices were stored")
    pending = [r for r in rows if r["id"] not in out]
    tier = 0
    while pending:
        tier += 1
        head, *rest = pending
        out[head["id"]] = Tier(tier, None)
        pending = []
        for r in rest:
            try:
                pair = align(*mats[r["id"]], *mats[head["id"]])
            except ValueError:
                out[r["id"]] = Tier(None, None, "tested on other subjects than the rows above")
                continue
            p = permutation_p(pair, (metric,), permutations, seed)[metric]
            if p >= alpha:
                out[r["id"]] = Tier(tier, p)
            else:
                pending.append(r)
    return out


def method_note(metric_title: str, alpha: float = ALPHA, permutations: int = DEFAULT_PERMUTATIONS) -> str:
    return METHOD.format(metric=metric_title, permutations=permutations, alpha=alpha)
