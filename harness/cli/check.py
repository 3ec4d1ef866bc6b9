"""`harness check`."""
from __future__ import annotations

import click

from harness.cli.options import data_root_option, echo_json, json_option


@click.command()
@click.option("--expectations", "-e", type=click.Path(dir_okay=False), default=None,
              help="Expectations file (default: expectations.yaml of this checkout).")
@click.option("--bundle", "bundles", multiple=True, help="Only the checks of these bundles.")
@data_root_option
@click.option("--executor", default="local", show_default=True, help="serial, local or ray.")
@click.option("--workers", type=int, default=None)
@click.option("--quiet", is_flag=True)
@json_option
def check(expectations: str | None, bundles: tuple[str, ...], data_root: str | None, executor: str,
          workers: int | None, quiet: bool, as_json: bool) -> None:
    """Run (or reuse) each expected bundle x protocol and fail (exit 1) if any score regressed.

    Without --data-root the embedded synthetic corpus is used (generated first if absent).
    """
    from pathlib import Path

    from harness.errors import CheckFailed
    from harness.experiments.check import load_expectations, render_results, run_checks, status_text
    from harness.experiments.main_job import ensure_default_corpus, print_err
    from harness.paths import builtin_dir

    spec = load_expectations(Path(expectations) if expectations else builtin_dir("expectations.yaml"))
    if not (data_root or spec.data_root):
        ensure_default_corpus(None if quiet or as_json else print_err)

    def progress(i: int, n: int, r) -> None:  # one line per check on stderr, so that a CI log shows progress
        e = r.expectation
        click.echo(f"check {i}/{n}: {e.bundle} on {e.protocol}{' ' + e.phase if e.phase else ''}: {status_text(r)}",
                   err=True)

    results = run_checks(spec, data_root, bundles, executor, workers, quiet=quiet or as_json,
                         on_result=None if quiet or as_json else progress)
    if as_json:
        echo_json([{"bundle": r.expectation.bundle, "protocol": r.expectation.protocol, "phase": r.expectation.phase,
                    "metrics": r.metrics, "ok": r.ok, "failures": r.failures, "error": r.error} for r in results])
    else:
        click.echo(render_results(results))
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(results)} check(s) regressed")
    if not as_json:
        click.echo(f"all {len(results)} check(s) passed")
