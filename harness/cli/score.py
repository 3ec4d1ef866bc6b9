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
    from harness.errors import BadInput
    from harness.scoring.bootstrap import DEFAULT_DRAWS
    from harness.scoring.predictions import read_predictions
    from harness.scoring.render import render_report
    from harness.scoring.report import build_report

    if record and not (team and system):
        raise BadInput("--record needs --team and --system")
    proto, phase, task = _task(protocol, phase, data_root, data_options)
    test = task.test_table(phase)
    if test["label"].isna().any():
        raise BadInput(f"the data root has no reference labels for {proto.name} {phase or ''}: "
                       f"{int(test['label'].isna().sum())} test samples are unlabelled")
    preds = read_predictions(predictions, test["uid"].tolist(), proto.classes)
    report = build_report(proto.classes, test["label_index"].to_numpy(dtype="int64"), [preds.pred],
                          test["group"].to_numpy(), draws=draws if draws is not None else DEFAULT_DRAWS,
                          metrics=proto.metrics, datasets=test["dataset"].to_numpy(), part_titles=proto.part_titles(),
                          per_subject=record)
    report["protocol"], report["protocol_version"], report["phase"] = proto.name, proto.version, phase
    if record:
        from harness.runner.fingerprint import data_fingerprint, data_kind
        from harness.fsutil import file_sha256
        from harness.runner.provenance import basic_provenance
        from harness.store.db import open_store

        prov = basic_provenance()
        prov.update({"predictions_file": str(Path(predictions).resolve()),
                     "predictions_sha256": file_sha256(Path(predictions)),
                     "data_fingerprint": data_fingerprint(task), "data_kind": data_kind(task.data_root),
                     "protocol_version": proto.version, "errata": task.errata_versions(),
                     "data_options": data_options.describe(), "excluded": task.exclusion_summary()})
        folds = task.test_folds(phase)
        with open_store() as store:
            sid = store.record_scored_predictions(
                submission={"protocol": proto.name, "protocol_version": proto.version, "phase": phase,
                            "team": team, "system": system, "kind": kind, "provenance": prov},
                sample_ids=preds.ids, folds=list(folds), predictions=preds.pred, proba=preds.proba, report=report,
                limits=proto.phases[phase].limits if phase else None)
        report["submission_id"] = sid
        from harness.leaderboard.render import write_boards

        write_boards(proto.name)
    if as_json:
        echo_json(report)
    else:
        click.echo(render_report(report, f"{proto.name}" + (f" {phase}" if phase else "") + f": {predictions}"))
        if record:
            click.echo(f"\nrecorded as submission {report['submission_id']}; leaderboard updated")

