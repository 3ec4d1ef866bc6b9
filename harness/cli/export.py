"""`harness export codabench`: a protocol as a Codabench competition bundle, or `--check` of a bundle."""
from __future__ import annotations

import click

from harness.cli.main import LazyGroup
from harness.cli.options import data_root_option, echo_json, json_option
from harness.export.codabench.schema import DOCKER_IMAGE, EXECUTION_TIME_LIMIT_S


@click.group(cls=LazyGroup, lazy={
    "codabench": ("harness.cli.export:codabench", "A protocol as a Codabench bundle (competition.yaml v2); "
                                                  "--check validates one."),
})
def export() -> None:
    """Export a protocol as a challenge hosted on another platform."""


@click.command()
@click.option("--protocol", "-p", "protocol", default=None, help="Protocol to export (see `harness protocols`).")
@click.option("--phase", "phases", multiple=True, help="Only these phases (repeatable; default: all).")
@data_root_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="The bundle to write (.zip).")
@click.option("--start", "starts", multiple=True, metavar="[PHASE=]DATE",
              help="A phase's start, UTC (YYYY-MM-DD or 'YYYY-MM-DD HH:MM'); repeatable. Codabench needs one "
                   "per phase.")
@click.option("--end", "ends", multiple=True, metavar="[PHASE=]DATE", help="A phase's end, UTC; repeatable.")
@click.option("--title", default=None, help="Competition title (default: the protocol's).")
@click.option("--docker-image", default=DOCKER_IMAGE, show_default=True,
              help="Image the scoring program runs in (Python 3.9+ with numpy).")
@click.option("--time-limit", type=int, default=EXECUTION_TIME_LIMIT_S, show_default=True,
              help="Execution time limit of a submission, seconds.")
@click.option("--check", "check_path", type=click.Path(dir_okay=False), default=None, metavar="BUNDLE",
              help="Validate BUNDLE (a competition .zip) instead of exporting; its scoring program is run on "
                   "test inputs. Exit 1 if a check fails.")
@json_option
def codabench(protocol: str | None, phases: tuple[str, ...], data_root: str | None, output: str | None,
              starts: tuple[str, ...], ends: tuple[str, ...], title: str | None, docker_image: str, time_limit: int,
              check_path: str | None, as_json: bool) -> None:
    """Write PROTOCOL as a Codabench competition bundle, or check a bundle (--check BUNDLE).

    The bundle has one phase per protocol phase (one for a LOSO protocol) with the protocol's limits, one task per
    phase (the scoring program, which packages the harness's own validation and metrics, and the phase's held-out
    labels from --data-root), a leaderboard of the protocol's metrics in ranking order, and a starting kit per
    phase. No frames: they are licensed. Dates are written only when given.
    """
    from harness.errors import BadInput

    if check_path:
        given = [name for name, value in (("-p", protocol), ("-o", output), ("--phase", phases), ("--start", starts),
                                          ("--end", ends), ("--title", title),
                                          ("--docker-image", docker_image != DOCKER_IMAGE),
                                          ("--time-limit", time_limit != EXECUTION_TIME_LIMIT_S)) if value]
        if given:
            raise BadInput(f"--check validates a bundle and takes no export option: drop {', '.join(given)}")
        _check(check_path, as_json)
        return
    if not (protocol and output):
        raise BadInput("give -p PROTOCOL and -o BUNDLE.zip to export (or --check BUNDLE.zip to validate one)")
    from harness.export.codabench.bundle import export_codabench

    result = export_codabench(protocol, output, phases, data_root, starts, ends, title, docker_image, time_limit)
    summary = [{"phase": p.name, "samples": len(p.rows), "subjects": p.n_subjects,
                "max_submissions_per_day": p.limits.per_team_per_day, "max_submissions": p.limits.per_team_total}
               for p in result.phases]
    if as_json:
        echo_json({"bundle": str(result.path), "phases": summary, "columns": [c["key"] for c in result.columns],
                   "files": len(result.files), "warnings": result.warnings})
        return
    for note in result.warnings:
        click.echo(f"note: {note}", err=True)
    phases_text = ", ".join(f"{s['phase']} ({s['samples']} samples)" for s in summary)
    click.echo(f"wrote {result.path}: {len(result.files)} files; phases {phases_text}; leaderboard "
               f"{' > '.join(c['title'] for c in result.columns)}\ncheck it with: harness export codabench --check "
               f"{result.path}")


def _check(path: str, as_json: bool) -> None:
    from harness.errors import CheckFailed
    from harness.export.codabench.check import render_results, run_checks

    results = run_checks(path)
    failed = [r.name for r in results if r.status in ("fail", "skip")]
    if as_json:
        echo_json({"bundle": path, "passed": not failed, "checks": [r.as_dict() for r in results]})
    else:
        click.echo(render_results(path, results))
    if failed:
        raise CheckFailed(f"{path}: {len(failed)} check(s) failed: {', '.join(failed)}")
