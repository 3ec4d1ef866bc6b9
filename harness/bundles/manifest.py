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
from typing import Any

from harness.errors import BadInput, Problem, ValidationFailed

KINDS = ("baseline", "system", "sanity")
MANIFEST = "bundle.yaml"
_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


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


def load_bundle(path: Path | str) -> Bundle:
    """Read and validate `bundle.yaml`; every problem names the field."""
    import yaml

    from harness.fsutil import tree_hash
    from harness.names import check_name

    path = Path(path).resolve()
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise BadInput(f"{path} is not a bundle: it has no {MANIFEST} (see `harness submit --help`)")
    where = str(manifest)
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInput(f"{manifest}: not valid YAML ({exc})")
    if not isinstance(data, dict):
        raise BadInput(f"{manifest}: must be a mapping of fields (name, team, kind, entry_point, ...)")
    problems = []

    def need(key: str, typ=str) -> Any:
        if key not in data or data[key] in (None, ""):
            problems.append(Problem(where, f"missing field {key!r}", column=key))
            return None
        if not isinstance(data[key], typ):
            problems.append(Problem(where, f"field {key!r} must be {typ.__name__}", column=key))
            return None
        return data[key]

    name, team, kind = need("name"), need("team"), need("kind")
    for key, value in (("name", name), ("team", team)):
        if value is not None:
            try:
                check_name(value, f"field {key!r}")
            except BadInput as exc:
                problems.append(Problem(where, str(exc), column=key))
    entry, description, profiles = need("entry_point"), need("description"), need("profiles", dict)
    if kind is not None and kind not in KINDS:
        problems.append(Problem(where, f"kind must be one of {', '.join(KINDS)}, got {kind!r}", column="kind"))
    if entry is not None:
        if not _ENTRY.match(entry):
            problems.append(Problem(where, f"entry_point {entry!r} must look like module:Name", column="entry_point"))
        else:
            module = entry.split(":")[0].replace(".", "/")
            if not ((path / f"{module}.py").is_file() or (path / module / "__init__.py").is_file()):
                problems.append(Problem(where, f"entry_point module {entry.split(':')[0]!r} not found in {path}",
                                        column="entry_point"))
    if profiles is not None:
        for p, cfg in profiles.items():
            if cfg is not None and not isinstance(cfg, dict):
                problems.append(Problem(where, f"profile {p!r} must be a mapping of parameters", column="profiles"))
    default = data.get("default_profile", "quick" if profiles and "quick" in profiles else
                       next(iter(profiles), None) if profiles else None)
    if profiles is not None and default not in profiles:
        problems.append(Problem(where, f"default_profile {default!r} is not among the profiles", column="default_profile"))
    neural = data.get("neural", False)
    if not isinstance(neural, bool):
        problems.append(Problem(where, "field 'neural' must be true or false", column="neural"))
    display = data.get("display_name", name)
    if "display_name" in data and (not isinstance(display, str) or not display.strip()):
        problems.append(Problem(where, "field 'display_name' must be a non-empty string (or left out)",
                                column="display_name"))
    elif "display_name" in data:
        try:
            check_name(display.strip(), "field 'display_name'")
        except BadInput as exc:
            problems.append(Problem(where, str(exc), column="display_name"))
    known = {"name", "team", "kind", "entry_point", "description", "paper", "neural", "profiles", "default_profile",
             "display_name"}
    if problems:
        raise ValidationFailed(problems, f"bundle {path} is malformed")
    return Bundle(path=path, name=name, team=team, kind=kind, entry_point=entry, description=description.strip(),
                  paper=str(data.get("paper", "")).strip(), neural=neural,
                  profiles={k: dict(v or {}) for k, v in profiles.items()}, default_profile=default,
                  code_hash=tree_hash(path), extra={k: v for k, v in data.items() if k not in known},
                  display_name=display.strip())
