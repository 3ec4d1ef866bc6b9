"""Provenance: what produced a number, recorded with every result. ONE builder, `build_provenance`, for both
ways a score is born, and one shape (a JSON object in the store, copied beside each board row):

common to every result
    harness_version, harness_code (hash of the harness's own code), git {commit, dirty}, python, platform,
    machine, cpu_count, packages {name: version}        the code and the machine
    source                                              "bundle" (harness submit) | "predictions" (harness score)
    protocol {name, version, file_sha256}, phase        what was scored against
    data_root, data_fingerprint, data_kind              the data (synthetic | real), by content
    excluded [[reason, count]], errata {dataset: name@version}, data_options {builtin_errata, errata_files, strict}
    host_run                                            an organiser's reference run, exempt from phase limits
a bundle run adds
    bundle {name, display_name, path, code_hash, entry_point, paper, kind}, profile, profile_label,
    profile_reduction (what quick changes from the paper config), config, seeds,
    device, executor, workers, concurrent_folds, isolation, fold_batched, trust, sandbox, fold_time_limit_s
    and, once scored: wall_s, fold_records {seed: {fold: records}}, threads_per_fold, logs, guarantees_not_held
a predictions file adds
    predictions {file, sha256}
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from harness import __version__
from harness.fsutil import tree_hash
from harness.paths import PACKAGE_DIR, REPO_ROOT

PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "opencv-contrib-python-headless", "mediapipe",
            "click", "tabulate")


@lru_cache(maxsize=1)
def harness_code_hash() -> str:
    """Identity of the harness's own code (preprocessing, scoring...): part of a run's identity."""
    return tree_hash(PACKAGE_DIR, (".py", ".yaml"))


@lru_cache(maxsize=1)
def git_info() -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def basic_provenance() -> dict:
    return {
        "harness_version": __version__,
        "harness_code": harness_code_hash(),
        "git": git_info(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
    }


def build_provenance(prep) -> dict:
    """The provenance of a prepared request (harness.evaluate.request.PreparedRun or PreparedFile)."""
    from harness.datasets.policy import DEFAULT as DEFAULT_LOAD
    from harness.evaluate.fingerprint import data_kind
    from harness.fsutil import file_sha256

    req, proto = prep.request, prep.proto
    out = basic_provenance()
    bundle = getattr(prep, "bundle", None)
    out.update({
        "source": "bundle" if bundle is not None else "predictions",
        "protocol": {"name": proto.name, "version": proto.version,
                     "file_sha256": file_sha256(proto.path) if proto.path else None},
        "phase": prep.phase,
        "data_root": str(prep.root), "data_fingerprint": prep.fingerprint, "data_kind": data_kind(prep.root),
        "excluded": prep.task.exclusion_summary(), "errata": prep.task.errata_versions(),
        "data_options": (req.data_options or DEFAULT_LOAD).describe(),
        "host_run": req.host,
    })
    if bundle is None:
        path = Path(req.predictions)
        out["predictions"] = {"file": str(path.resolve()), "sha256": file_sha256(path)}
        return out
    out.update({
        "bundle": {"name": bundle.name, "display_name": bundle.display_name, "path": str(bundle.path),
                   "code_hash": bundle.code_hash, "entry_point": bundle.entry_point, "paper": bundle.paper,
                   "kind": bundle.kind},
        "profile": prep.profile, "profile_label": bundle.profile_label(prep.profile, dict(req.overrides)),
        "profile_reduction": bundle.profile_reduction(prep.profile),
        "config": prep.config, "seeds": prep.seeds, "device": prep.device,
        "executor": req.executor, "workers": req.workers, "concurrent_folds": prep.executor.workers,
        "isolation": ("fold-batched: one process trains every fold with per-fold sample masks (it sees every "
                      "fold's labels)" if req.fold_batched else
                      "one confined process per fold (forked from the harness's zygote), opaque sample ids, "
                      "frames staged outside the data root"),
        "fold_batched": req.fold_batched, "trust": prep.trust,
        "sandbox": "every layer in harness/runner/isolation.py (what held: fold_records.*.isolation)"
                   if req.sandbox else "disabled (--no-sandbox)",
        "fold_time_limit_s": prep.time_limit_s,
    })
    return out


def guarantees_not_held(provenance: dict) -> list[str]:
    """The isolation guarantees that did not hold for a run, in words (recorded; boards mark such rows)."""
    out = []
    if provenance.get("fold_batched"):
        out.append("fold-batched: one process saw every fold's labels")
    if provenance.get("trust") == "--trust-bundle":
        out.append("unreviewed bundle run fold-batched by --trust-bundle")
    if str(provenance.get("sandbox", "")).startswith("disabled"):
        return out + ["no sandbox (--no-sandbox)"]
    facts = [rec.get("isolation", {}) for seed in (provenance.get("fold_records") or {}).values()
             for rec in seed.values()]
    checks = (  # a fact a fold did not report counts as not held
        ("no Landlock", lambda f: not str(f.get("landlock", "")).startswith("landlock")),
        ("TCP not restricted (Landlock ABI < 4)", lambda f: "tcp" not in str(f.get("landlock", ""))),
        ("signals and abstract sockets not scoped (Landlock ABI < 6)",
         lambda f: "scoped" not in str(f.get("landlock", ""))),
        ("no private network, IPC, /proc and /dev/shm (namespaces unavailable)",
         lambda f: f.get("network") is not True or f.get("private_proc") is not True),
        ("no private root (paths outside the fold, named sockets included, can be reached by name)",
         lambda f: not str(f.get("private_root", "")).startswith("yes")),
        ("no PID namespace (processes killed by the supervisor's sweep)",
         lambda f: not str(f.get("pid_namespace", "")).startswith("yes")),
        ("capabilities kept", lambda f: f.get("capabilities") not in ("none left", "not root")),
    )
    for text, failed in checks:
        if any(failed(f) for f in facts):
            out.append(text)
    return out
