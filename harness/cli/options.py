"""Options shared by several commands, declared once."""
from __future__ import annotations

import click

data_root_option = click.option(
    "--data-root", "data_root", type=click.Path(file_okay=False), envvar="HARNESS_DATA_ROOT", default=None,
    help="Folder holding one folder per dataset (dfme/, casme3/, casme2/, samm/, smic/). "
         "Default: the embedded synthetic corpus.")
#: "on" while a command runs with --json (main() then reports an error as JSON too, unless the command has
#: printed its own document already: "printed")
JSON_MODE = {"on": False, "printed": False}


def _json_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        JSON_MODE["on"] = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, callback=_json_callback,
                           help="Machine-readable output on stdout (errors too: {\"error\": ..., \"exit_code\": ...}).")
protocol_option = click.option("--protocol", "-p", "protocol", required=True, help="Protocol name (see `harness protocols`).")
phase_option = click.option("--phase", default=None, help="Phase of a phased protocol (e.g. test_A).")


def echo_json(data) -> None:
    import json

    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    JSON_MODE["printed"] = True
