"""The command line: help, lazy imports, "did you mean", and the exit-code contract (0 ok, 1 check failed,
2 bad input or usage)."""
from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from harness import __version__
from harness.cli.main import COMMANDS, LazyGroup, main
from harness.errors import BadInput, CheckFailed, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, Problem, ValidationFailed
from tests.procs import child_env

HEAVY = ("numpy", "pandas", "torch", "sklearn", "scipy", "matplotlib", "openpyxl", "cv2", "yaml")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120)


def test_help_lists_commands_without_heavy_imports():
    code = ("import json, sys\nfrom harness.cli.main import main\nrc = main(['--help'])\n"
            f"print(json.dumps({{'rc': rc, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    *help_lines, last = proc.stdout.strip().splitlines()
    result = json.loads(last)
    assert result == {"rc": 0, "heavy": []}
    text = "\n".join(help_lines)
    for name in ("protocols", "template", "score", "submit", "leaderboard", "check", "data"):
        assert f"  {name} " in text, text
    assert "Usage: harness" in text


def test_importing_the_cli_imports_nothing_heavy():
    proc = _python("import sys, harness.cli.main\n"
                   f"print([m for m in {HEAVY!r} if m in sys.modules])")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_console_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "harness.cli.main", "--version"], env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and f"harness, version {__version__}" in proc.stdout


def _command_tree():
    """(path, command) of every command and subcommand, each imported as `harness PATH` would import it."""
    import click

    from harness.cli.main import cli

    out, todo = [], [((), cli)]
    while todo:
        path, cmd = todo.pop()
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert isinstance(sub, click.Command), f"harness {' '.join((*path, name))} is {sub!r}"
                out.append(((*path, name), sub))
                todo.append(((*path, name), sub))
    return out


def test_every_command_imports_and_has_help_text(capsys):
    tree = _command_tree()
    assert {path[0] for path, _ in tree} == set(COMMANDS) and len(tree) > len(COMMANDS)
    for path, cmd in tree:
        lazy = getattr(cmd, "lazy", None)
        assert (cmd.help or "").strip(), f"harness {' '.join(path)} has no help text"
        assert main([*path, "--help"]) == 0, path
        out = " ".join(capsys.readouterr().out.split())
        assert f"Usage: harness {' '.join(path)}" in out and " ".join(cmd.help.split("\n\n")[0].split()) in out
        for name, (target, summary) in (lazy or {}).items():
            assert target.count(":") == 1 and summary.strip(), (path, name)


@pytest.mark.parametrize("argv, needle", [
    (["protocol"], "did you mean 'protocols'?"),
    (["scroe"], "did you mean 'score'"),   # (or 'compare')
    (["leaderbord"], "did you mean 'leaderboard'?"),
    (["data", "chek"], "did you mean 'check'?"),
])
def test_unknown_command_did_you_mean(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["score"], "Missing argument"),
    (["score", "p.csv"], "Missing option '--protocol'"),
    (["template", "-p", "ccac2024-dfme", "--phase", "test_A", "--bogus"], "No such option"),
    (["score", "p.csv", "-p", "casme3-7class", "--kind", "paper"], "Invalid value for '--kind'"),
])
def test_usage_errors_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_help_of_subcommands(capsys):
    assert main(["score", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--record" in out and "--phase" in out
    assert main(["data", "--help"]) == 0
    out = capsys.readouterr().out
    assert "synth" in out and "check" in out


def test_exit_code_contract(capsys):
    """HarnessError subclasses carry their exit code through `main`."""
    @click.command()
    @click.argument("what")
    def probe(what: str) -> None:
        if what == "check":
            raise CheckFailed("a regression")
        if what == "bad":
            raise BadInput("a bad file")
        if what == "report":
            raise ValidationFailed([Problem("f.csv", "oops", row=3, column="prediction")], "f.csv is invalid")
        click.echo("fine")

    group = LazyGroup(name="h", lazy={})
    group.add_command(probe)
    from harness.cli import main as cli_main

    original = cli_main.cli
    cli_main.cli = group
    try:
        assert main(["probe", "ok"]) == 0
        assert main(["probe", "check"]) == EXIT_CHECK_FAILED == 1
        assert main(["probe", "bad"]) == EXIT_BAD_INPUT == 2
        assert main(["probe", "report"]) == 2
    finally:
        cli_main.cli = original
    captured = capsys.readouterr()
    assert "fine" in captured.out
    assert "error: a regression" in captured.err and "error: a bad file" in captured.err
    assert "f.csv is invalid: 1 problem(s)\n  - f.csv, row 3, column 'prediction': oops" in captured.err


def test_validation_failed_lists_at_most_the_limit():
    err = ValidationFailed([Problem("f", f"p{i}", row=i) for i in range(60)], "t", limit=50)
    text = str(err)
    assert text.startswith("t: 60 problem(s)") and "f, row 49: p49" in text and "p50" not in text
    assert text.endswith("... and 10 more") and len(err.problems) == 60
