"""One phase of an exported competition, as the bundle writer and the pages see it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from harness.protocols.model import Limits


@dataclass(frozen=True)
class PhaseExport:
    name: str                        # the Codabench phase: the protocol's phase, or "loso"
    protocol_phase: str | None       # what `harness score --phase` takes (None for LOSO)
    description: str
    limits: Limits
    start: dt.datetime | None
    end: dt.datetime | None
    rows: tuple[tuple[str, str, str, str], ...]   # sample_id, class, subject, dataset, in test order
    n_subjects: int
