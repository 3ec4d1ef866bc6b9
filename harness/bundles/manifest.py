"""Submission bundles: a folder with `bundle.yaml` and the code it names.

    name: lbp-top                      # system id (store, expectations, --system)
    display_name: LBP-TOP + SVM        # optional: what the leaderboards show (default: name)
    team: harness                      # default team (--team overrides)
    kind: baseline                     # baseline | system | sanity
    entry_point: model:LbpTopSvm       # <module in the folder>:<class or factory>, called with the profile's config
    description: LBP-TOP + linear SVM
    paper: Zhao & Pietikainen, TPAMI 2007
    neural: false                      # true: uses torch (device choice, parameter count)
    profiles:                          # named configs; `quick` runs in CI and the main job
      quick: {C: 1.0}                  #   (a reduction of the method, for CPUs; boards say "quick (reduced)")
      paper: {C: 1.0}                  #   the published configuration
    default_profile: quick

Reading and validating the manifest is this module; finding shipped bundles is `discover.py`, importing a
bundle's code (as a private package, so two bundles may both have a `model.py`, inside the fold's worker process
only) is `loader.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import BadInput

KINDS = ("baseline", "system", "sanity")
MANIFEST = "bundle.yaml"
_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
KNOWN = ("name", "team", "kind", "entry_point", "description", "paper", "neural", "profiles", "default_profile",
         "display_name")   # any other field is kept in Bundle.extra (e.g. `ablations`)
FIELDS_HINT = "fields name, team, kind, entry_point, description, profiles, ... (see harness/bundles/manifest.py)"


@dataclass(frozen=True)
class Bundle:
    path: Path
    name: str
    team: str
    kind: str
    entry_point: str
    description: str
    paper: str
    neural: bool
    profiles: dict[str, dict[str, Any]]
    default_profile: str
    code_hash: str
    extra: dict[str, Any] = field(default_factory=dict)
    display_name: str = ""   # what boards show; load_bundle sets it (the name when the manifest has none)

    @property
    def package(self) -> str:
        """Import name of the bundle's private package (unique per code version)."""
        return f"harness_bundle_{re.sub(r'[^0-9a-zA-Z]', '_', self.name)}_{self.code_hash[:10]}"

    def resolve_config(self, profile: str | None, overrides: dict[str, Any] | None = None) -> tuple[str, dict]:
        profile = profile or self.default_profile
        if profile not in self.profiles:
            from harness.registry import suggest

            raise BadInput(suggest(profile, list(self.profiles), f"profile of bundle {self.name}"))
        config = dict(self.profiles[profile] or {})
        config.update(overrides or {})
        return profile, config

    def profile_label(self, profile: str, overrides: dict[str, Any] | None = None) -> str:
        """How a board names what ran: the profile, `quick (reduced)` when `quick` is not the `paper` config, and
        any `--set` overrides (`paper + epochs=10`)."""
        label = profile
        if profile == "quick" and "paper" in self.profiles and self.profiles["quick"] != self.profiles["paper"]:
            label = "quick (reduced)"
        if overrides:
            label += " + " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
        return label

    def profile_reduction(self, profile: str) -> str:
        """What `quick` changes from the `paper` config, key by key (`epochs 20 (paper 800)`), so that a board
        row says what its reduction is; empty when the profile is not a reduction of a paper config."""
        if profile != "quick" or "paper" not in self.profiles:
            return ""
        quick, paper = self.profiles["quick"], self.profiles["paper"]
        keys = [k for k in sorted(set(quick) | set(paper)) if quick.get(k) != paper.get(k)]
        return "; ".join(f"{k} {quick.get(k, '(unset)')} (paper {paper.get(k, '(unset)')})" for k in keys)


def _name_check(value: str) -> str | None:
    from harness.names import check_name

    try:
        check_name(value, "the name")
    except BadInput as exc:
        return str(exc)
    return None


def _entry_check(path: Path) -> Callable[[str], str | None]:
    def check(entry: str) -> str | None:
        if not _ENTRY.match(entry):
            return f"{entry!r} must look like module:Name"
        module = entry.split(":")[0].replace(".", "/")
        if not ((path / f"{module}.py").is_file() or (path / module / "__init__.py").is_file()):
            return f"module {entry.split(':')[0]!r} not found in {path}"
        return None
    return check


def load_bundle(path: Path | str) -> Bundle:
    """Read and validate `bundle.yaml`; every problem names the file and the field (harness.schema)."""
    from harness.fsutil import tree_hash
    from harness.schema import Fields, read_yaml

    path = Path(path).resolve()
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise BadInput(f"{path} is not a bundle: it has no {MANIFEST} (see `harness submit --help`)")
    f = Fields(manifest, read_yaml(manifest, "bundle manifest", hint=FIELDS_HINT), "bundle manifest")
    name, team = f.get("name", check=_name_check), f.get("team", check=_name_check)
    kind = f.get("kind", choices=KINDS)
    entry = f.get("entry_point", check=_entry_check(path), hint="<module in the folder>:<class or factory>")
    description = f.get("description")
    profiles = f.get("profiles", dict, hint="named configs, e.g. profiles: {quick: {C: 1.0}, paper: {C: 1.0}}")
    if profiles:
        each = f.sub("profiles")
        for p in profiles:
            each.get(p, dict, default={}, hint="a mapping of the bundle's parameters")
    first = "quick" if profiles and "quick" in profiles else next(iter(profiles), None) if profiles else None
    default = f.get("default_profile", default=first)
    if profiles is not None and default not in profiles:
        f.add("default_profile", f"{default!r} is not among the profiles ({', '.join(map(str, profiles))})")
    neural = f.get("neural", bool, default=False)
    display = f.get("display_name", default=name, check=_name_check, hint="what the boards show (or leave it out)")
    if "display_name" in f and f.data["display_name"] is None:
        f.add("display_name", "must be a non-empty text", hint="what the boards show (or leave it out)")
    paper = f.get("paper", (str, int, float), default="")
    f.done(f"bundle {path} is malformed")
    return Bundle(path=path, name=name, team=team, kind=kind, entry_point=entry, description=description.strip(),
                  paper=str(paper).strip(), neural=neural,
                  profiles={k: dict(v or {}) for k, v in profiles.items()}, default_profile=default,
                  code_hash=tree_hash(path), extra={k: v for k, v in f.data.items() if k not in KNOWN},
                  display_name=display.strip())
