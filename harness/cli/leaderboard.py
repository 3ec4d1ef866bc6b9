"""`harness leaderboard [--protocol P]`."""
from __future__ import annotations

import click


@click.command()
@click.option("--protocol", "-p", default=None, help="Only this protocol's boards (default: all).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the boards (default: the checkout's leaderboard/, or HARNESS_LEADERBOARD_DIR).")
def leaderboard(protocol: str | None, out: str | None) -> None:
    """Render leaderboard/<protocol>[-<phase>].md (+ .png) from the results store."""
    from pathlib import Path

    from harness.leaderboard.render import write_boards
    from harness.protocols import get_protocol

    if protocol:
        get_protocol(protocol)  # unknown name -> "did you mean"
    for path in write_boards(protocol, out_dir=Path(out) if out else None):
        click.echo(str(path))
