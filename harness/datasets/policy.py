"""What loading does with a defect: the policy for rows no erratum covers, and the options that change it.

The policy (README, "Data", says the same for users):

- **Known defects** are corrected by errata (`harness.datasets.errata`) and reported as `corrected`.
- **Key frames that contradict each other and that no erratum covers** never block a protocol:
  an apex outside onset..offset is treated as missing (bundles spot the apex, as they do for SMIC) and reported
  as a warning; a row whose onset lies after its offset, or whose offset is 0, is excluded from every protocol,
  counted with its reason (`harness protocols show`, the provenance of every run and the board), and reported
  as a warning.
- **Release conventions** are notes, not defects: CASME II writes a missing apex as `/`, a SAMM apex of -1 is
  not coded; both load as a missing apex.
- **Errors stay errors**, naming file, row and column: missing or unreadable frames, a frame that is not an
  image, unknown labels, duplicate sample ids, a cell that is not a frame number, an unreadable workbook.
- `--strict` turns every warning into an error; `--no-errata` switches the built-in errata off; `--errata FILE`
  uses a user's errata file for the dataset it names instead of the built-in one.

Severities a Problem can carry: error (stops a run), warning, corrected, note.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

EXCLUDE = "exclude"
DROP_APEX = "drop-apex"


@dataclass(frozen=True)
class KeyFrameRule:
    """One kind of contradiction between onset, apex and offset, and what loading does about it."""

    name: str
    title: str                                            # short, used in the exclusion reason
    test: Callable[[int, int | None, int], bool]
    action: str                                           # EXCLUDE or DROP_APEX


KEY_FRAME_RULES: tuple[KeyFrameRule, ...] = (
    KeyFrameRule("offset-zero", "offset is 0", lambda on, ap, off: off == 0, EXCLUDE),
    KeyFrameRule("onset-after-offset", "onset after offset", lambda on, ap, off: on > off, EXCLUDE),
    KeyFrameRule("apex-outside", "apex outside onset..offset",
                 lambda on, ap, off: ap is not None and not on <= ap <= off, DROP_APEX),
)


def key_frame_defect(onset: int, apex: int | None, offset: int) -> KeyFrameRule | None:
    """The first rule the key frames break (exclusions before apex rules), or None."""
    return next((r for r in KEY_FRAME_RULES if r.test(onset, apex, offset)), None)


@dataclass(frozen=True)
class LoadOptions:
    """How a data root is loaded: which errata, and whether warnings are errors (`--no-errata`, `--errata FILE`,
    `--strict`). The default is what every command does without those flags."""

    errata: bool = True                      # the built-in errata (or the synthetic corpus's own)
    errata_files: tuple[Path, ...] = ()      # a user's errata files; each replaces the built-ins of its dataset
    strict: bool = False

    @cached_property
    def _user_sets(self) -> tuple:
        from harness.datasets.errata import read_errata

        sets = tuple(read_errata(Path(p), origin="user") for p in self.errata_files)
        seen: dict[str, Path] = {}
        for s in sets:
            if s.dataset in seen:
                from harness.errors import BadInput

                raise BadInput(f"--errata: {seen[s.dataset]} and {s.path} both name dataset {s.dataset!r}; "
                               "give one errata file per dataset")
            seen[s.dataset] = s.path
        return sets

    def user_errata(self) -> tuple:
        """The user's errata sets, read and validated once (BadInput names the file, line and field)."""
        return self._user_sets

    def describe(self) -> dict:
        """For provenance: what the options were."""
        return {"builtin_errata": self.errata, "errata_files": [str(p) for p in self.errata_files],
                "strict": self.strict}


DEFAULT = LoadOptions()
