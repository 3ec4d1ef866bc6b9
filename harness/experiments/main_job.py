"""The README's main job (`harness run-all`, `python3 dev.py main`): generate the embedded synthetic corpus if it
is absent, run every shipped bundle on every protocol and phase (reusing results of identical code and data),
write all leaderboards once at the end, and report the wall time of each run and of the whole job."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


def ensure_default_corpus(progress: Callable[[str], None] | None = None) -> Path:
    """The embedded synthetic corpus at its default place, generated (atomically) when missing or written by
    another generator version."""
    from harness.paths import default_synthetic_root
    from harness.synth import GENERATOR_VERSION
    from harness.synth.writer import generate

    root = default_synthetic_root()
    manifest = root / "_truth" / "corpus.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("generator") == GENERATOR_VERSION:
        return root  # a corpus of an older generator is written again (e.g. one without the planted defects)
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if progress is not None:
        progress(f"generating the synthetic corpus in {root} ...")
    summary = generate(partial, "all", progress=progress is not None)
    shutil.rmtree(root, ignore_errors=True)
    partial.replace(root)
    if progress is not None:
        progress(f"wrote {summary.frames} frames to {root} in {summary.seconds:.1f} s")
    return root


@dataclass
class MainJob:
    rows: list[list[str]] = field(default_factory=list)   # bundle, board, metrics..., status, wall s
    columns: list[str] = field(default_factory=list)      # the metrics' names, in the rows' order
    failures: int = 0
    written: list[Path] = field(default_factory=list)
    wall_s: float = 0.0
    data_root: Path | None = None


def run_all(data_root: str | Path | None, bundles: Sequence[str] = (), protocols: Sequence[str] = (),
            seeds: Sequence[int] = (0,), profile: str = "quick", executor: str = "local", workers: int | None = None,
            quiet: bool = False, on_row: Callable[[list[str]], None] | None = None) -> MainJob:
    from harness.bundles.discover import discover_bundles
    from harness.errors import BadInput, HarnessError
    from harness.evaluate.request import RunRequest
    from harness.evaluate.submit import submit
    from harness.fsutil import atomic_write_text
    from harness.leaderboard.render import write_boards
    from harness.paths import harness_home
    from harness.protocols import get_protocol, protocol_names

    t0 = time.perf_counter()
    job = MainJob()
    job.data_root = root = Path(data_root) if data_root else ensure_default_corpus(None if quiet else print_err)
    shipped = discover_bundles()
    unknown = set(bundles) - set(shipped)
    if unknown:
        raise BadInput(f"unknown bundle(s) {', '.join(sorted(unknown))}; shipped: {', '.join(shipped)}")
    chosen = [shipped[b] for b in (bundles or shipped)]
    boards = [(p, ph) for p in (protocols or protocol_names()) for ph in get_protocol(p).board_names()]
    job.columns = list(dict.fromkeys(m for p, _ in boards for m in get_protocol(p).metric_columns()))
    for path in chosen:
        for proto, phase in boards:
            t = time.perf_counter()
            where = proto + (f" {phase}" if phase else "")
            try:
                out = submit(RunRequest(proto, phase, bundle=path, seeds=tuple(seeds), profile=profile,
                                        data_root=root, executor=executor, workers=workers, quiet=quiet, host=True))
                m = out.report["metrics"]
                job.rows.append([path.name, where, *(f"{m[c]['value']:.3f}" if c in m else "-" for c in job.columns),
                                 out.status, f"{time.perf_counter() - t:.1f}"])
            except HarnessError as exc:
                job.failures += 1
                job.rows.append([path.name, where, *("-" for _ in job.columns),
                                 "FAILED: " + str(exc).splitlines()[0][:240], f"{time.perf_counter() - t:.1f}"])
            if on_row is not None:
                on_row(job.rows[-1])
    job.written = write_boards()
    job.wall_s = time.perf_counter() - t0
    atomic_write_text(harness_home() / "run-all.json", json.dumps(
        {"wall_s": round(job.wall_s, 1), "data_root": str(root), "runs": job.rows}, indent=2) + "\n")
    return job


def print_err(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)
