"""The import picture of the engine: packages stand in layers and import only from lower layers, so data and
imports run one way, from the bundle contract at the bottom to the CLI at the top; and no module takes part in
an import cycle. Read from the source with `ast` (every import, also those inside functions: a lazy import is
still an arrow), so the test needs nothing imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "harness"

#: Lowest first. A package may import its own modules and any package of a LOWER layer; two packages of one
#: layer know nothing of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("harness", "harness.errors"),                                                  # foundation
    ("harness.registry", "harness.fsutil", "harness.names", "harness.imageio", "harness.paths"),
    ("harness.schema",),                                                            # declarative files
    ("harness.api",),                                                               # the bundle contract
    ("harness.scoring", "harness.datasets", "harness.preprocess"),
    ("harness.kit", "harness.protocols", "harness.store", "harness.synth", "harness.bundles",
     "harness.classic", "harness.kit.nn"),  # (today's kit: classic.py, nn/)
    ("harness.runner",),                                                            # fold execution only
    ("harness.evaluate", "harness.leaderboard"),
    ("harness.experiments", "harness.export"),
    ("harness.cli",),
)

def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every harness module `path` imports (a `from pkg import sub` of a submodule counts as importing it)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "harness")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "harness":
                continue
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, name, set(mods)) for name, path in mods.items()}


def package_of(module: str) -> str:
    """The layered unit a module belongs to: harness.<x> (a subpackage or a top-level module), or harness."""
    parts = module.split(".")
    return ".".join(parts[:2])


def layer_of(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"{package} is in no layer of LAYERS: place it")


def violations() -> dict[tuple[str, str], list[str]]:
    """(package, imported package) -> the module arrows that break the layering."""
    out: dict[tuple[str, str], list[str]] = {}
    for mod, targets in graph().items():
        for target in targets:
            a, b = package_of(mod), package_of(target)
            if a != b and layer_of(b) >= layer_of(a):
                out.setdefault((a, b), []).append(f"{mod} -> {target}")
    return out


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_every_package_stands_in_a_layer():
    for mod in modules():
        layer_of(package_of(mod))


def test_no_package_imports_from_its_own_or_a_higher_layer():
    found = violations()
    assert not found, "imports against the layering:\n" + "\n".join(f"  {a} -> {b}: {', '.join(v)}"
                                                                      for (a, b), v in sorted(found.items()))


def test_no_module_takes_part_in_an_import_cycle():
    assert cycles() == []


@pytest.mark.parametrize("source, edge", [
    ("from harness.cli.options import echo_json\n", ("harness.scoring", "harness.cli")),
    ("def f():\n    from harness.runner import worker\n", ("harness.scoring", "harness.runner")),
])
def test_the_rule_sees_lazy_and_top_level_arrows(tmp_path, monkeypatch, source, edge):
    """Positive control: an upward import added to a low package (at the top or inside a function) is found."""
    import shutil

    copy = tmp_path / "harness"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "scoring" / "probe.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", copy)
    assert edge in violations()
