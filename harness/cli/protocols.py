"""`harness protocols [show NAME]`."""
from __future__ import annotations

import click

from harness.cli.options import data_options, data_root_option, echo_json, json_option


def _summary_row(proto) -> dict:
    split = proto.splitter.summary(proto)
    return {"name": proto.name, "version": proto.version, "datasets": list(proto.datasets),
            "classes": list(proto.classes), "split": split, "title": proto.title,
            "exclusions": list(proto.exclusion_notes)}


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def protocols(ctx: click.Context, as_json: bool) -> None:
    """List the protocols; `harness protocols show NAME` prints one."""
    if ctx.invoked_subcommand is not None:
        return
    from harness.protocols import get_protocol, protocol_names

    rows = [_summary_row(get_protocol(n)) for n in protocol_names()]
    if as_json:
        echo_json(rows)
        return
    from tabulate import tabulate

    click.echo(tabulate([[r["name"], r["version"], "+".join(r["datasets"]), len(r["classes"]), r["split"]]
                         for r in rows], headers=["protocol", "version", "data", "K", "split"], disable_numparse=True))
    click.echo("")
    for r in rows:
        for note in r["exclusions"]:
            click.echo(f"{r['name']}: excluded by the mapping: {note}")


@protocols.command("show")
@click.argument("name")
@data_root_option
@click.option("--no-data", is_flag=True, help="Print the definition only, without loading a data root.")
@data_options
@json_option
def show(name: str, data_root: str | None, no_data: bool, data_options, as_json: bool) -> None:
    """Print a protocol's definition and, given data, its split sizes and class counts, the errata applied, the
    warnings of loading, every exclusion with its reason, and every difference from the official counts."""
    from harness.protocols import get_protocol

    proto = get_protocol(name)
    out = _summary_row(proto)
    out.update({"description": proto.description, "label_map": proto.label_map, "metrics": list(proto.metrics),
                "ranking": list(proto.ranking), "test_keyframes": proto.test_keyframes,
                "official_counts": proto.official_counts, "references": list(proto.references),
                "file": str(proto.path)})
    root = None
    if not no_data:
        from harness.paths import default_synthetic_root, resolve_data_root

        if data_root or default_synthetic_root().is_dir():
            root = resolve_data_root(data_root)  # an explicit root that does not exist is an error
        else:
            out["data_root"] = None
            out["note"] = ("no data root (pass --data-root DIR or set HARNESS_DATA_ROOT, or run `harness data "
                           "synth`): split sizes are shown only with data")
    if root is not None:
        from harness.protocols.task import build_task

        task = build_task(proto, root, check_frames=False, options=data_options)
        out["data_root"] = str(root)
        out["splits"] = task.split_summary()
        out["excluded"] = [{"reason": r, "count": n} for r, n in task.exclusion_summary()]
        out["official_count_differences"] = task.official_count_mismatches()
        out["errata"] = task.errata_versions()
        out["corrected"] = len(task.corrections())
        out["warnings"] = [p.render() for p in task.warnings if p.severity == "warning"]
        out["notes"] = [p.render() for p in task.warnings if p.severity == "note" and p.column == "exclude_samples"]
    if as_json:
        echo_json(out)
        return
    click.echo(f"{proto.name} v{proto.version}: {proto.title}\n")
    click.echo(proto.description + "\n")
    click.echo(f"datasets: {', '.join(proto.datasets)}")
    click.echo(f"classes (index order fixes K={proto.n_classes}): "
               + ", ".join(f"{i}={c}" for i, c in enumerate(proto.classes)))
    for d, m in proto.label_map.items():
        click.echo(f"label map {d}: " + ", ".join(f"{e}->{c}" for e, c in m.items()))
    click.echo(f"split: {out['split']}")
    click.echo(f"metrics: {', '.join(proto.metrics)}; ranking: {' > '.join(proto.ranking)}")
    for note in proto.exclusion_notes:
        click.echo(f"exclusions: {note}")
    if out.get("note"):
        click.echo(f"\n{out['note']}")
    if "splits" in out:
        from tabulate import tabulate

        click.echo(f"\ndata root: {out['data_root']}")
        rows = [[k, v["samples"], v["subjects"], " ".join(f"{c}:{n}" for c, n in v["classes"].items())]
                for k, v in out["splits"].items()]
        click.echo(tabulate(rows, headers=["split", "samples", "subjects", "classes"]))
        total_ex = sum(e["count"] for e in out["excluded"])
        click.echo(f"\nexcluded: {total_ex}")
        for e in out["excluded"]:
            click.echo(f"  {e['count']:5d}  {e['reason']}")
        click.echo("\nerrata: " + "; ".join(f"{d} {v}" for d, v in out["errata"].items())
                   + f" ({out['corrected']} correction(s) applied; `harness data check` lists them)")
        for w in out["warnings"]:
            click.echo(f"warning: {w}")
        for note in out["notes"]:
            click.echo(f"note: {note}")
        grouped: dict[str, list[str]] = {}
        for diff in out["official_count_differences"]:  # "casme2: class negative 89 (official release: 88)"
            split, what = diff.split(": ", 1)
            grouped.setdefault(split, []).append(what.replace(" (official release: ", " (official ")
                                                 if grouped.get(split) else what)
        for split, items in grouped.items():
            click.echo(f"note: differs from the official release: {split}: {', '.join(items)}")
