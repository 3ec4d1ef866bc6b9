"""`harness` command line. Subcommands are imported only when invoked, so `harness --help` stays instant.

Exit codes: 0 ok, 1 a check or regression failed, 2 bad input or usage.
"""
from __future__ import annotations

import importlib
import sys

import click

from harness import __version__

# name -> "module:attribute"; a registry, not an if-chain, and nothing heavy is imported to list it.
COMMANDS: dict[str, tuple[str, str]] = {
    "protocols": ("harness.cli.protocols:protocols", "List protocols, or show one with its split sizes."),
    "template": ("harness.cli.score:template", "Write the predictions template of a protocol (and phase)."),
    "score": ("harness.cli.score:score", "Validate and score a predictions.csv; optionally record it."),
    "submit": ("harness.cli.submit:submit", "Train and evaluate a submission bundle under a protocol."),
    "leaderboard": ("harness.cli.leaderboard:leaderboard", "Render the markdown leaderboards from the store."),
    "compare": ("harness.cli.compare:compare", "Paired test of two stored submissions: is A better than B?"),
    "submissions": ("harness.cli.submissions:submissions", "List stored submissions; abandon one a killed run left."),
    "check": ("harness.cli.check:check", "CI regression check of bundles against committed expectations."),
    "data": ("harness.cli.data:data", "Synthetic corpus generation and data-root validation."),
    "cache": ("harness.cli.cache:cache", "Inspect or clear the preprocessing cache."),
    "ablate": ("harness.cli.ablate:ablate", "Run a bundle's ablation variants; table with CIs (--write-readme)."),
    "export": ("harness.cli.export:export", "Export a protocol as a hosted challenge (Codabench bundle); check one."),
    "run-all": ("harness.cli.runall:run_all", "The main job: corpus, every bundle on every protocol, leaderboards."),
}


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str):
        if name in self.lazy:
            module, attr = self.lazy[name][0].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and name not in self.list_commands(ctx) and not name.startswith("-"):
            from harness.registry import suggest

            raise click.UsageError(suggest(name, self.list_commands(ctx), "command"), ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """Competition and benchmark harness for facial micro-expression recognition.

    Data: --data-root DIR (or HARNESS_DATA_ROOT) holds one folder per dataset in its official layout;
    without it the embedded synthetic corpus is used. Results: HARNESS_HOME (default ~/.harness).
    """


def main(argv: list[str] | None = None) -> int:
    from harness.cli.options import JSON_MODE
    from harness.errors import HarnessError

    args = list(sys.argv[1:] if argv is None else argv)
    JSON_MODE.update(on=False, printed=False)
    try:
        code = cli.main(args=args, prog_name="harness", standalone_mode=False)
        if isinstance(code, int):
            return code  # a command ended with ctx.exit(code)
    except HarnessError as exc:
        click.echo(f"error: {exc}", err=True)
        return _json_error(str(exc), exc.exit_code, type(exc).__name__, JSON_MODE["on"])
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return _json_error("aborted", 130, "Abort", JSON_MODE["on"])
    except click.ClickException as exc:
        exc.show()
        return _json_error(exc.format_message(), 2, type(exc).__name__, JSON_MODE["on"] or "--json" in args)
    return 0


def _json_error(message: str, code: int, kind: str, as_json: bool) -> int:
    """Under --json, an error is a JSON document on stdout as well (a machine reading stdout gets one document:
    the command's own, if it printed one before failing, else this)."""
    from harness.cli.options import JSON_MODE, echo_json

    if as_json and not JSON_MODE["printed"]:
        echo_json({"error": message, "exit_code": code, "kind": kind})
    return code


if __name__ == "__main__":
    sys.exit(main())
