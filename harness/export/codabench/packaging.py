"""The scoring program of a bundle: the project's own modules copied as they are, an entry point, metadata.yaml.

Packaging the modules (rather than writing a scorer for the platform) is what keeps the board and
`harness score` in agreement. The platform's image has the standard library and numpy only, so every packaged
module is checked here to parse under its Python and to import nothing else.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import PurePosixPath
from typing import Mapping

from harness.errors import Problem
from harness.export.codabench.schema import PYTHON_VERSION
from harness.paths import PACKAGE_DIR

# What the scoring program runs (program.py and what it imports), with the package __init__ files on the way.
PACKAGED_MODULES = (
    "harness", "harness.errors", "harness.registry",
    "harness.scoring", "harness.scoring.metrics", "harness.scoring.bootstrap", "harness.scoring.report",
    "harness.scoring.predictions",
    "harness.export", "harness.export.codabench", "harness.export.codabench.program",
    "harness.export.codabench.detailed_results",
)
ALLOWED_IMPORTS = frozenset(sys.stdlib_module_names) | {"numpy", "__future__"}
ENTRY_POINT = "score.py"
METADATA = "metadata.yaml"
COMMAND = f"python3 /app/program/{ENTRY_POINT} /app/input /app/output"   # the compute worker's mount points
ENTRY_SOURCE = '''"""Entry point of the scoring program that metadata.yaml runs: harness/export/codabench/program.py."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the packaged harness modules beside this file, whatever the interpreter's flags

from harness.export.codabench.program import main  # noqa: E402

sys.exit(main(sys.argv[1:], HERE))
'''


def module_file(module: str) -> str:
    """harness.scoring -> harness/scoring/__init__.py; harness.errors -> harness/errors.py (posix, relative)."""
    parts = module.split(".")
    package = PACKAGE_DIR.parent.joinpath(*parts)
    return "/".join(parts) + ("/__init__.py" if package.is_dir() else ".py")


def program_files(protocol_info: Mapping) -> dict[str, bytes]:
    """The scoring program's files (paths relative to its folder)."""
    import yaml

    files = {module_file(m): PACKAGE_DIR.parent.joinpath(module_file(m)).read_bytes() for m in PACKAGED_MODULES}
    files[ENTRY_POINT] = ENTRY_SOURCE.encode()
    files[METADATA] = yaml.safe_dump({"command": COMMAND}, sort_keys=False).encode()
    from harness.export.codabench.program import PROTOCOL_FILE

    files[PROTOCOL_FILE] = (json.dumps(dict(protocol_info), indent=2) + "\n").encode()
    return files


def purity_problems(files: Mapping[str, bytes], where: str = "scoring_program") -> list[Problem]:
    """Each .py file must parse as the image's Python and import only the standard library, numpy or what the
    other files define (at any depth of the code: an import inside a function fails on the platform just the
    same, and so does a name that a packaged module does not define)."""
    trees, problems = {}, []
    for name, data in sorted(files.items()):
        if name.endswith(".py"):
            try:
                trees[name] = ast.parse(data.decode("utf-8"), filename=name, feature_version=PYTHON_VERSION)
            except (SyntaxError, UnicodeDecodeError) as exc:
                version = ".".join(map(str, PYTHON_VERSION))
                problems.append(Problem(f"{where}/{name}", f"does not parse as Python {version}: {exc}",
                                        row=getattr(exc, "lineno", None)))
    defined = {_module_name(name): _top_level_names(tree) for name, tree in trees.items()}
    for name, tree in trees.items():
        package = PurePosixPath(name).parent.parts
        for node in ast.walk(tree):
            for module, names in _imported(node, package):
                missing = _missing(module, names, defined)
                if missing:
                    problems.append(Problem(f"{where}/{name}", f"imports {missing!r}, which is neither in the "
                                            "platform's image (standard library, numpy) nor packaged", row=node.lineno,
                                            hint="package the module (PACKAGED_MODULES) or do without it"))
    return problems


def _missing(module: str, names: list[str], defined: dict[str, set[str]]) -> str | None:
    """The first thing an import needs that is neither allowed nor packaged (None when all is there)."""
    if module not in defined:
        return None if module.split(".")[0] in ALLOWED_IMPORTS else module
    for n in names:
        if n != "*" and n not in defined[module] and f"{module}.{n}" not in defined:
            return f"{module}.{n}"
    return None


def _top_level_names(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                out.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def _module_name(name: str) -> str:
    parts = list(PurePosixPath(name).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, package: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(module, names taken from it) for an import statement; a relative one is resolved against the package."""
    if isinstance(node, ast.Import):
        return [(a.name, []) for a in node.names]
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
            base = list(package[: len(package) - node.level + 1])
            module = ".".join([*base, module] if module else base)
        return [(module, [a.name for a in node.names])]
    return []
