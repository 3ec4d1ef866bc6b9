"""`harness run-all`: the README's main job (harness/experiments/main_job.py)."""
from __future__ import annotations

import click

from harness.cli.options import data_root_option


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
    from harness.errors import CheckFailed
    from harness.experiments.main_job import run_all as main_job
    from harness.scoring.metrics import title

    job = main_job(data_root, bundles, protocols, parse_seeds(seeds), profile, executor, workers, quiet,
                   on_row=None if quiet else lambda row: click.echo(" | ".join(row), err=True))
    click.echo(tabulate(job.rows, headers=["bundle", "board", *(title(c) for c in job.columns), "status", "wall s"],
                        disable_numparse=True))
    click.echo(f"\n{len(job.rows)} runs, {job.failures} failed, {job.wall_s:.0f} s in total; "
               f"{len([p for p in job.written if p.suffix == '.md'])} leaderboards written")
    if job.failures:
        raise CheckFailed(f"{job.failures} run(s) failed")
