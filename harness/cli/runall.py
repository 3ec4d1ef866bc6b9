"""`harness run-all`: the README's main job.

Generates the embedded synthetic corpus if absent, runs every bundle in baselines/ and submissions/ on every
protocol and phase with the quick profile (reusing results of identical code and data), writes all leaderboards,
and prints a summary with the wall time of each run and of the whole job.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click

from harness.cli.options import data_root_option


def ensure_default_corpus(quiet: bool = False) -> Path:
    """The embedded synthetic corpus at its default place, generated (atomically) when missing or written by
    another generator version."""
    from harness.cli.main import main as cli_main
    from harness.errors import HarnessError
    from harness.paths import default_synthetic_root
    from harness.synth import GENERATOR_VERSION

    root = default_synthetic_root()
    manifest = root / "_truth" / "corpus.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("generator") == GENERATOR_VERSION:
        return root  # a corpus of an older generator is written again (e.g. one without the planted defects)
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if not quiet:
        click.echo(f"generating the synthetic corpus in {root} ...", err=True)
    code = cli_main(["data", "synth", "--like", "all", "--out", str(partial)])
    if code != 0:
        raise HarnessError(f"generating the synthetic corpus failed (exit {code})")
    shutil.rmtree(root, ignore_errors=True)
    partial.replace(root)
    return root


@click.command("run-all")
@data_root_option
@click.option("--bundle", "bundles", multiple=True, help="Only these bundles (folder names).")
@click.option("--protocol", "protocols", multiple=True, help="Only these protocols.")
@click.option("--seeds", default="0", show_default=True)
@click.option("--profile", default="quick", show_default=True)
@click.option("--executor", default="local", show_default=True)
@click.option("--workers", type=int, default=None, help="Fold processes at once (default: one per core).")
@click.option("--quiet", is_flag=True)
def run_all(data_root: str | None, bundles: tuple[str, ...], protocols: tuple[str, ...], seeds: str, profile: str,
            executor: str, workers: int | None, quiet: bool) -> None:
    """Run every bundle on every protocol/phase and write all leaderboards (exit 1 if any run failed)."""
    from tabulate import tabulate

    from harness.cli.submit import parse_seeds
    from harness.errors import BadInput, CheckFailed, HarnessError
    from harness.leaderboard.render import write_boards
    from harness.paths import harness_home
    from harness.protocols import get_protocol, protocol_names
    from harness.runner.bundle import discover_bundles
    from harness.runner.run import submit
    from harness.fsutil import atomic_write_text

    t0 = time.perf_counter()
    root = Path(data_root) if data_root else ensure_default_corpus(quiet)
    shipped = discover_bundles()
    unknown = set(bundles) - set(shipped)
    if unknown:
        raise BadInput(f"unknown bundle(s) {', '.join(sorted(unknown))}; shipped: {', '.join(shipped)}")
    chosen = [shipped[b] for b in (bundles or shipped)]
    boards = [(p, ph) for p in (protocols or protocol_names()) for ph in get_protocol(p).board_names()]
    from harness.scoring.metrics import title

    columns = list(dict.fromkeys(m for p, _ in boards for m in get_protocol(p).metric_columns()))
    rows, failures = [], 0
    for path in chosen:
        for proto, phase in boards:
            t = time.perf_counter()
            try:
                out = submit(path, proto, phase, seeds=parse_seeds(seeds), profile=profile, data_root=root,
                             executor=executor, workers=workers, quiet=quiet, host=True, regenerate_board=False)
                m = out.report["metrics"]
                rows.append([path.name, proto + (f" {phase}" if phase else ""),
                             *(f"{m[c]['value']:.3f}" if c in m else "-" for c in columns), out.status,
                             f"{time.perf_counter() - t:.1f}"])
            except HarnessError as exc:
                failures += 1
                rows.append([path.name, proto + (f" {phase}" if phase else ""), *("-" for _ in columns),
                             "FAILED: " + str(exc).splitlines()[0][:240], f"{time.perf_counter() - t:.1f}"])
            if not quiet:
                click.echo(" | ".join(rows[-1]), err=True)
    written = write_boards()
    total = time.perf_counter() - t0
    table = tabulate(rows, headers=["bundle", "board", *(title(c) for c in columns), "status", "wall s"],
                     disable_numparse=True)
    click.echo(table)
    click.echo(f"\n{len(rows)} runs, {failures} failed, {total:.0f} s in total; "
               f"{len([p for p in written if p.suffix == '.md'])} leaderboards written")
    atomic_write_text(harness_home() / "run-all.json", json.dumps(
        {"wall_s": round(total, 1), "data_root": str(root), "runs": rows}, indent=2) + "\n")
    if failures:
        raise CheckFailed(f"{failures} run(s) failed")
