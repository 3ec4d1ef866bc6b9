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



def data_options(command):
    """`--no-errata`, `--errata FILE` (repeatable) and `--strict`, handed to the command as one `data_options`
    (harness.datasets.policy.LoadOptions) argument. A user's errata file is read and validated here, before any
    data is loaded, so a broken one is a usage error (exit 2) naming its file, line and field."""
    import functools

    @functools.wraps(command)
    def wrapper(*args, no_errata: bool, errata_files: tuple[str, ...], strict: bool, **kwargs):
        from pathlib import Path

        from harness.datasets.policy import LoadOptions

        options = LoadOptions(errata=not no_errata, errata_files=tuple(Path(p) for p in errata_files), strict=strict)
        options.user_errata()
        return command(*args, data_options=options, **kwargs)

    for option in reversed([
        click.option("--no-errata", "no_errata", is_flag=True,
                     help="Do not apply the built-in errata (known defects of the official files stay as released)."),
        click.option("--errata", "errata_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
                     help="Your own errata file (the format of harness/datasets/errata/*.yaml); it replaces the "
                          "built-in errata of the dataset it names. Repeatable."),
        click.option("--strict", is_flag=True,
                     help="Every data warning is an error (contradicting key frames no erratum covers, errata that "
                          "do not apply, two versions of a sheet)."),
    ]):
        wrapper = option(wrapper)
    return wrapper
