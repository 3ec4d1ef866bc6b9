"""`harness submit BUNDLE --protocol P [--phase X] ...`."""
from __future__ import annotations

import click

from harness.cli.options import data_options, data_root_option, echo_json, json_option, phase_option, protocol_option


def parse_seeds(text: str) -> list[int]:
    from harness.errors import BadInput

    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise BadInput(f"--seeds takes integers separated by commas (e.g. 0,1,2), not {text!r}") from None
    if not seeds:
        raise BadInput("--seeds needs at least one seed")
    return seeds


def parse_overrides(items: tuple[str, ...]) -> dict:
    import yaml

    from harness.errors import BadInput

    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise BadInput(f"--set takes key=value, not {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise BadInput(f"--set {key.strip()}: {value!r} is not a YAML value ({exc})") from None
    return out


@click.command()
@click.argument("bundle")
@protocol_option
@phase_option
@click.option("--team", default=None, help="Team name (default: the bundle's).")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds; each is a full run.")
@click.option("--profile", default=None, help="Config profile of the bundle (default: its default_profile).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one config value.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--executor", default="serial", show_default=True, help="serial, local or ray.")
@click.option("--workers", type=int, default=None, help="Fold processes at once (local/ray).")
@click.option("--ray-address", default=None, help="Address of an existing Ray cluster (executor ray).")
@click.option("--gpus-per-fold", type=click.FloatRange(min=0, max=64), default=None,
              help="GPUs each Ray task asks for (default 1 on CUDA, 0 on CPU; 0.25 packs four folds on a GPU).")
@data_root_option
@data_options
@click.option("--resume", is_flag=True, help="Finish an interrupted run (re-running the same command also does).")
@click.option("--rerun", is_flag=True, help="Evaluate again even if an identical run is already scored.")
@click.option("--host", is_flag=True, help="Organiser's reference run: exempt from phase limits (recorded).")
@click.option("--fold-batched", is_flag=True,
              help="Train all LOSO folds at once as one stacked model (reviewed neural bundles with batched_spec): "
                   "one process then sees every fold's labels.")
@click.option("--trust-bundle", is_flag=True,
              help="Allow --fold-batched for a bundle that is not on the reviewed list (recorded, marked on the "
                   "board).")
@click.option("--fold-time-limit", "fold_time_limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Kill a fold (and fail the run) after this long; default: the protocol's "
                                      "fold_time_limit_s, else 6 h.")
@click.option("--no-sandbox", is_flag=True,
              help="Do not restrict the folds' filesystem access (debugging only; recorded with the run).")
@click.option("--predict-only", is_flag=True,
              help="Run the folds exactly as a submission does, but only write their predictions (-o): nothing is "
                   "scored or recorded and no phase slot is used; for a test phase whose labels you do not have.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="The predictions file --predict-only writes (the template's ids; `harness score` accepts it).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@json_option
def submit(bundle: str, protocol: str, phase: str | None, team: str | None, seeds: str, profile: str | None,
           overrides: tuple[str, ...], device: str, executor: str, workers: int | None, ray_address: str | None,
           gpus_per_fold: float | None, data_root: str | None, data_options, resume: bool, rerun: bool, host: bool,
           fold_batched: bool, trust_bundle: bool, fold_time_limit: float | None, no_sandbox: bool,
           predict_only: bool, output: str | None, quiet: bool, as_json: bool) -> None:
    """Train and evaluate BUNDLE (a folder with bundle.yaml, or a shipped bundle's name) under a protocol.

    LOSO protocols fit one model per held-out subject; phase protocols fit on the training split and predict the
    phase. Each fold runs confined (see the README's guarantees); what a bundle prints goes to the fold's log
    under HARNESS_HOME/logs/. Each fold's predictions are committed as it ends; the same command resumes an
    interrupted run. Every option is checked before anything is recorded.
    """
    from harness.errors import BadInput
    from harness.evaluate.request import RunRequest
    from harness.evaluate.submit import submit as run_submit
    from harness.leaderboard.render import write_boards
    from harness.scoring.render import render_report

    if predict_only != bool(output):
        raise BadInput("--predict-only writes its predictions to -o FILE, and -o is for --predict-only: give both")
    options: dict = {"address": ray_address} if ray_address else {}
    if gpus_per_fold is not None:
        options["gpus_per_fold"] = gpus_per_fold
    request = RunRequest(
        protocol, phase, bundle=bundle, team=team, seeds=tuple(parse_seeds(seeds)), profile=profile, device=device,
        data_root=data_root, executor=executor, workers=workers, quiet=quiet or as_json, resume=resume, rerun=rerun,
        host=host, overrides=parse_overrides(overrides), executor_options=options, fold_batched=fold_batched,
        sandbox=not no_sandbox, data_options=data_options, trust_bundle=trust_bundle,
        fold_time_limit_s=fold_time_limit, predict_only=predict_only)
    if predict_only:
        _predict_only(request, output, as_json)
        return
    outcome = run_submit(request)
    write_boards(protocol)  # also for a reused result: a run killed after scoring left no board
    if as_json:
        echo_json({"submission_id": outcome.submission_id, "status": outcome.status, "wall_s": outcome.wall_s,
                   "identity": outcome.identity, "report": outcome.report})
        return
    head = {"reused": "already evaluated with identical code, settings and data (use --rerun to evaluate again)",
            "scored": f"scored in {outcome.wall_s:.1f} s" + (f" ({outcome.resumed_folds} folds resumed)"
                                                               if outcome.resumed_folds else "")}[outcome.status]
    click.echo(render_report(outcome.report, f"submission {outcome.submission_id}: {head}"))


def _predict_only(request, output: str, as_json: bool) -> None:
    from pathlib import Path

    from harness.evaluate.predict import predict
    from harness.fsutil import atomic_write_text
    from harness.protocols import get_protocol
    from harness.scoring.predictions import format_predictions

    out = predict(request)
    classes = get_protocol(request.protocol).classes
    atomic_write_text(Path(output), format_predictions(out.ids, out.labels, out.proba, classes))
    doc = {"output": output, "n_predictions": len(out.ids), "wall_s": round(out.wall_s, 3), "logs": out.logs,
           "recorded": False}
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"wrote {len(out.ids)} predictions to {output} in {out.wall_s:.1f} s (nothing scored or recorded; "
                   f"fold logs in {out.logs}); check it with `harness score` where labels exist, or upload it")
