"""A local stand-in for Codabench's compute worker: `--check` runs a bundle's scoring program through it before
the bundle is uploaded, the way the platform will.

What it imitates (codalab/codabench `compute_worker/compute_worker.py`): the scoring program unpacked in
APP/program and run from there with the command of its metadata.yaml; the phase's reference data in
APP/input/ref; the participant's unzipped submission in APP/input/res, beside the `metadata` file the
prediction step leaves there; APP/output for the results; the phase's execution time limit. What it cannot
imitate exactly is the image, so it stands in the leanest interpreter it can: this Python, isolated (-I -S: no
site-packages, no .pth files, no user or PYTHONPATH entries, so an installed harness is unreachable) with only
numpy made importable, from a folder that holds nothing but links to it.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BadInput
from harness.export.codabench.archive import Archive, extract

APP = "/app"
# The interpreter's only extra path entry is the numpy-only folder given as its first argument.
BOOTSTRAP = ("import runpy, sys; sys.path.append(sys.argv[1]); sys.argv = sys.argv[2:]; "
             "runpy.run_path(sys.argv[0], run_name='__main__')")
PLATFORM_METADATA = "exitCode: 0\nelapsedTime: 0.1\ningestionExitCode: null\ningestionElapsedTime: null\n"


@dataclass
class WorkerRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, bytes]   # what the program left in APP/output
    app_dir: Path


def numpy_only_site(dest: Path) -> Path:
    """A folder holding links to numpy (and its bundled libraries) and nothing else."""
    import numpy

    src = Path(numpy.__file__).resolve().parent
    dest.mkdir(parents=True, exist_ok=True)
    for sibling in (src, src.with_name("numpy.libs")):
        link = dest / sibling.name
        if sibling.exists() and not link.exists():
            link.symlink_to(sibling, target_is_directory=True)
    return dest


def isolated_python(site: Path) -> list[str]:
    """Argv prefix of an interpreter that sees the standard library and `site` only; append SCRIPT ARGS..."""
    return [sys.executable, "-I", "-S", "-c", BOOTSTRAP, str(site)]


def program_command(program_dir: Path, app_dir: Path, site: Path) -> list[str]:
    """metadata.yaml's command with the mount points under `app_dir` and python3 as the isolated interpreter."""
    import yaml

    meta = program_dir / "metadata.yaml"
    if not meta.is_file():
        meta = program_dir / "metadata"
    try:
        command = (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("command")
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise BadInput(f"{meta}: no readable command ({exc})") from None
    if not isinstance(command, str) or not command.strip():
        raise BadInput(f"{meta}: no command")
    argv = [a.replace(APP, str(app_dir), 1) if a.startswith(APP + "/") or a == APP else a
            for a in shlex.split(command)]
    if Path(argv[0]).name not in ("python", "python3"):
        raise BadInput(f"{meta}: the command must run python3 (got {argv[0]!r})")
    return [*isolated_python(site), *argv[1:]]


def run_scoring(archive: Archive, program: str, reference: str, submission: dict[str, bytes], workdir: Path,
                time_limit: float) -> WorkerRun:
    """Run the scoring program `program` (a yaml path of the bundle) on `submission` (the files of the
    participant's zip) against `reference`, in a fresh APP folder under `workdir`."""
    app = workdir / "app"
    for part in ("program", "input/ref", "input/res", "output"):
        (app / part).mkdir(parents=True)
    extract(archive.folder(program), app / "program")
    extract(archive.folder(reference), app / "input" / "ref")
    extract(submission, app / "input" / "res")
    (app / "input" / "res" / "metadata").write_text(PLATFORM_METADATA)
    site = numpy_only_site(workdir / "numpy-only")
    argv = program_command(app / "program", app, site)
    env = {"PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    try:
        proc = subprocess.run(argv, cwd=app / "program", env=env, capture_output=True, text=True, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return WorkerRun(124, "", f"Execution Time Limit exceeded. Limit was {time_limit} seconds", {}, app)
    out = app / "output"
    outputs = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return WorkerRun(proc.returncode, proc.stdout, proc.stderr, outputs, app)
