"""`harness submissions list|abandon`: what the results store holds, and freeing the slot of a killed run."""
from __future__ import annotations

import click

from harness.cli.options import data_options, data_root_option, echo_json, json_option, phase_option

STATUSES = ("running", "scored", "failed")


@click.group()
def submissions() -> None:
    """List the submissions in the results store, or abandon one that a killed run left running."""


@submissions.command("list")
@click.option("--protocol", "-p", default=None, help="Only this protocol.")
@phase_option
@click.option("--team", default=None, help="Only this team.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only submissions in this state.")
@json_option
def list_submissions(protocol: str | None, phase: str | None, team: str | None, status: str | None,
                     as_json: bool) -> None:
    """One line per submission: id, status, board, team, system, created, its board's first metric, error."""
    from tabulate import tabulate

    from harness.store.db import open_store
    from harness.names import printable, shown_name

    with open_store() as store:
        subs = [s for s in store.submissions(protocol, phase, status) if team is None or s.team == team]
        metrics = {s.id: store.metric_values(s.id) for s in subs}
    primary = {s.id: _primary(s.protocol, metrics[s.id]) for s in subs}
    rows = [{"id": s.id, "status": s.status, "protocol": s.protocol, "phase": s.phase or None, "team": s.team,
             "system": s.system, "host": s.host, "created_at": s.created_at, "metrics": metrics[s.id],
             "error": s.error} for s in subs]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no submissions match")
        return
    from harness.scoring.metrics import title

    titles = {title(primary[r["id"]]) for r in rows if r["metrics"]}
    click.echo(tabulate([[r["id"], r["status"], r["protocol"] + (f" {r['phase']}" if r["phase"] else ""),
                          shown_name(r["team"]), shown_name(r["system"]), r["created_at"][:19],
                          f"{r['metrics'][primary[r['id']]]:.4f}" if r["metrics"] else "",
                          " ".join(printable(r["error"] or "").split())[:60]] for r in rows],
                        headers=["id", "status", "board", "team", "system", "created (UTC)",
                                 titles.pop() if len(titles) == 1 else "score", "error"],
                        disable_numparse=True))


def _primary(protocol: str, metrics: dict[str, float]) -> str | None:
    """The metric a submission's board ranks by (its first stored one when the protocol is gone)."""
    from harness.protocols import get_protocol
    from harness.registry import UnknownName

    try:
        name = get_protocol(protocol).primary_metric
    except UnknownName:
        name = None
    return name if name in metrics else next(iter(metrics), None)


@submissions.command("abandon")
@click.argument("submission_id", type=int)
@click.option("--reason", default="abandoned by the user", show_default=True, help="Stored as the error.")
def abandon(submission_id: int, reason: str) -> None:
    """Mark SUBMISSION_ID (left `running` by a killed run) failed, so that it no longer takes a phase slot.

    Its committed folds are kept: running the same `harness submit` command again reopens and finishes it.
    """
    from harness.store.db import open_store

    with open_store() as store:
        sub = store.abandon_submission(submission_id, reason)
    from harness.names import shown_name

    board = sub.protocol + (f" {sub.phase}" if sub.phase else "")
    click.echo(f"submission {sub.id} ({shown_name(sub.team)} / {shown_name(sub.system)}, {board}) is now failed: "
               "it no longer counts towards the phase limits")


@submissions.command("export")
@click.argument("submission_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout).")
@click.option("--seed", type=int, default=None, help="Which seed's predictions (default: the first).")
@data_root_option
@data_options
def export(submission_id: int, output: str | None, seed: int | None, data_root: str | None, data_options) -> None:
    """Per-sample predictions of SUBMISSION_ID: sample_id (the release's id), fold, subject, dataset, truth,
    prediction (+ probabilities), one seed. The file is a valid predictions file: `harness score` re-scores it to
    the submission's numbers. Truth comes from the data root (pass the one it was scored on)."""
    from pathlib import Path

    from harness.evaluate.samples import export_samples
    from harness.paths import resolve_data_root
    from harness.protocols import get_protocol
    from harness.protocols.task import build_task
    from harness.store.db import open_store

    with open_store() as store:
        sub = store.get_submission(submission_id)
        proto = get_protocol(sub.protocol)
        if proto.version != sub.protocol_version:
            click.echo(f"note: submission {submission_id} was scored under {proto.name} v{sub.protocol_version}; "
                       f"the protocol is now v{proto.version}", err=True)
        task = build_task(proto, resolve_data_root(data_root), check_frames=False, options=data_options)
        text, n, seed = export_samples(store, submission_id, task, seed)
    if output:
        from harness.fsutil import atomic_write_text

        atomic_write_text(Path(output), text)
        click.echo(f"wrote {n} predictions (seed {seed}) of submission {submission_id} to {output}", err=True)
    else:
        click.echo(text, nl=False)
