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

The bundle's modules are imported as a private package (so two bundles may both have a `model.py`), inside the
fold's worker process only.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import sys
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


def bundle_search_dirs() -> list[Path]:
    from harness.paths import builtin_dir

    return [builtin_dir("baselines"), builtin_dir("submissions")]


def discover_bundles() -> dict[str, Path]:
    """Bundles shipped in baselines/ and submissions/, by folder name."""
    found = {}
    for d in bundle_search_dirs():
        if d.is_dir():
            for sub in sorted(d.iterdir()):
                if (sub / MANIFEST).is_file():
                    found.setdefault(sub.name, sub)
    return found


def resolve_bundle(ref: str) -> Path:
    """A bundle folder path, or the name of a shipped bundle ("lbp-top")."""
    p = Path(ref)
    if p.is_dir():
        return p
    shipped = discover_bundles()
    if ref in shipped:
        return shipped[ref]
    from harness.registry import suggest

    raise BadInput(f"{ref} is neither a bundle folder nor a shipped bundle: " + suggest(ref, list(shipped), "bundle"))


def import_module(bundle: Bundle, name: str):
    """Import the bundle's module `name` as part of its private package (tests and benchmarks use this too)."""
    pkg = bundle.package
    if pkg not in sys.modules:
        spec = importlib.util.spec_from_loader(pkg, loader=None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [str(bundle.path)]
        sys.modules[pkg] = package
    return importlib.import_module(f"{pkg}.{name}")


def instantiate(bundle: Bundle, config: dict[str, Any]):
    """Import the bundle's entry point as a private package and build the submission from `config`."""
    mod_name, attr = bundle.entry_point.split(":")
    try:
        module = import_module(bundle, mod_name)
    except Exception as exc:
        raise BadInput(f"bundle {bundle.name}: importing {mod_name!r} failed: {type(exc).__name__}: {exc}") from exc
    factory = getattr(module, attr, None)
    if factory is None:
        raise BadInput(f"bundle {bundle.name}: {mod_name}.py has no {attr!r} (entry_point)")
    try:
        submission = factory(**config)
    except TypeError as exc:
        raise BadInput(f"bundle {bundle.name}: the profile's config does not fit {attr}: {exc}") from exc
    for method in ("fit", "predict"):
        if not callable(getattr(submission, method, None)):
            raise BadInput(f"bundle {bundle.name}: {attr} has no {method}() method")
    return submission
