"""`harness template` and `harness score`."""
from __future__ import annotations

from pathlib import Path

import click

from harness.cli.options import data_options, data_root_option, echo_json, json_option, phase_option, protocol_option


def _task(protocol: str, phase: str | None, data_root: str | None, options=None):
    from harness.paths import resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task

    proto = get_protocol(protocol)
    phase = proto.check_phase(phase)
    return proto, phase, build_task(proto, resolve_data_root(data_root), check_frames=False, options=options)


@click.command()
@protocol_option
@phase_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout).")
@data_root_option
@data_options
def template(protocol: str, phase: str | None, output: str | None, data_root: str | None, data_options) -> None:
    """Write the predictions template: every test sample_id once, prediction empty."""
    from harness.scoring.predictions import format_predictions

    proto, phase, task = _task(protocol, phase, data_root, data_options)
    ids = task.test_table(phase)["uid"].tolist()
    text = format_predictions(ids, [""] * len(ids))
    if output:
        from harness.fsutil import atomic_write_text

        atomic_write_text(Path(output), text)
        click.echo(f"wrote {len(ids)} test ids to {output}; fill `prediction` with a class name or index "
                   f"({', '.join(f'{i}={c}' for i, c in enumerate(proto.classes))})", err=True)
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("predictions", type=click.Path(dir_okay=False))
@protocol_option
@phase_option
@data_root_option
@data_options
@click.option("--record", is_flag=True, help="Record the scored submission in the store (phase limits apply).")
@click.option("--team", default=None, help="Team name (with --record).")
@click.option("--system", default=None, help="System name (with --record).")
@click.option("--kind", type=click.Choice(["system", "baseline", "sanity"]), default="system", show_default=True)
@click.option("--draws", type=int, default=None, help="Bootstrap draws for the CIs (default 2000).")
@json_option
def score(predictions: str, protocol: str, phase: str | None, data_root: str | None, data_options, record: bool,
          team: str | None, system: str | None, kind: str, draws: int | None, as_json: bool) -> None:
    """Validate PREDICTIONS (sample_id,prediction[,p_<class>...]) and score it: UF1, UAR, ACC with 95% CIs.

    Exit 2 with a report of every problem (row and column) when the file is invalid; nothing is recorded then.
    """
    from harness.evaluate.request import RunRequest
    from harness.evaluate.score_file import score_file
    from harness.scoring.render import render_report

    outcome = score_file(RunRequest(protocol, phase, predictions=predictions, team=team, system=system, kind=kind,
                                    data_root=data_root, data_options=data_options, record=record, draws=draws))
    report = outcome.report
    if record:
        from harness.leaderboard.render import write_boards

        write_boards(protocol)
    if as_json:
        echo_json(report)
    else:
        phase = report["phase"]
        click.echo(render_report(report, f"{protocol}" + (f" {phase}" if phase else "") + f": {predictions}"))
        if record:
            click.echo(f"\nrecorded as submission {report['submission_id']}; leaderboard updated")
