#!/usr/bin/env python3
"""One entry point that sets itself up: `python3 dev.py main|test|bench|bench-scale|check|lint|shell`.

Why a Python script and not a Makefile: the README promises two commands that work on a fresh machine with
nothing but Python installed. This script creates `.venv`, installs the pinned environment once (re-installing
only when `pyproject.toml` or `constraints.txt` change), then runs the job. It is idempotent.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".harness-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
# mediapipe's metadata pulls jax and a second OpenCV distribution; its face mesh needs neither (see
# shared/reference/environment.md), so it goes in with --no-deps at the pinned version.
NO_DEPS = ["mediapipe==0.10.14"]


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt", "dev.py"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def _run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def ensure_env() -> None:
    """Create and fill `.venv` unless it is already up to date."""
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [PY, "-m", "pip", "--disable-pip-version-check"]
    _run(pip + ["install", "-q", "-c", ROOT / "constraints.txt", "-e", f"{ROOT}[dev,ray]"])
    _run(pip + ["install", "-q", "--no-deps", "-c", ROOT / "constraints.txt", *NO_DEPS])
    STAMP.write_text(want)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HARNESS_HOME", str(ROOT / ".harness"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    job, rest = argv[0], argv[1:]
    ensure_env()
    os.chdir(ROOT)
    if job == "main":
        cmd = [BIN / "harness", "run-all", *rest]
    elif job == "test":
        # Two workers: the suite is CPU-bound and this machine has two cores.
        cmd = [PY, "-m", "pytest", "-n", "2", "-m", "not bench", *rest]
    elif job == "bench":
        code = subprocess.run([str(c) for c in [PY, "-m", "pytest", "tests/bench", "-m", "bench", "--benchmark-enable",
                                                "--benchmark-autosave", "--benchmark-storage", ROOT / ".benchmarks",
                                                "-p", "no:xdist", *rest]], env=_env()).returncode
        if code == 0:
            subprocess.run([str(PY), "-m", "tests.bench.report", str(ROOT / ".benchmarks")], env=_env())
        return code
    elif job == "bench-scale":  # not part of CI: an hour or more (see tests/bench/scale.py)
        cmd = [PY, "-m", "tests.bench.scale", *rest]
    elif job == "check":
        cmd = [BIN / "harness", "check", *rest]
    elif job == "lint":
        cmd = [BIN / "ruff", "check", ROOT, *rest]
    elif job == "shell":
        cmd = [os.environ.get("SHELL", "/bin/sh"), *rest]
    else:
        print(f"unknown job {job!r}: use main, test, bench, bench-scale, check, lint or shell", file=sys.stderr)
        return 2
    return subprocess.run([str(c) for c in cmd], env=_env()).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
