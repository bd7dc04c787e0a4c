"""The experiments package imports without a knot: no module reaches itself through its imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = "experiments"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every experiments module a file imports, anywhere in it, with the packages that import runs first."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}
    return {name: imports_of(path, set(files)) - {name} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), empty when the graph is a DAG."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_experiments_imports_itself_through_others():
    graph = import_graph()
    assert "experiments.cli.app" in graph and graph["experiments.cli.app"]
    assert cycles(graph) == []


def test_report_and_figures_do_not_import_the_cli():
    graph = import_graph()
    for name, deps in graph.items():
        if not name.startswith("experiments.cli"):
            assert not {d for d in deps if d.startswith("experiments.cli")}, name


LAYERS = [
    {"experiments", "experiments.console", "experiments.store", "experiments.recording", "experiments.logs",
     "experiments.crm"},
    {"experiments.stats"},
    {"experiments.running"},
    {"experiments.reporting", "experiments.regress", "experiments.train", "experiments.bench", "experiments.tune",
     "experiments.calibrate", "experiments.ope"},
    {"experiments.cli"},
]
"""The experiments packages bottom to top, as the README's architecture draws them."""


def layer(module: str) -> int:
    parts = module.split(".")
    for depth in (3, 2, 1):
        for i, names in enumerate(LAYERS):
            if ".".join(parts[:depth]) in names and len(parts) >= depth:
                return i
    raise AssertionError(f"{module} is in no layer of LAYERS")


def test_experiments_packages_import_only_downwards():
    upward = [(m, d) for m, deps in import_graph().items() for d in deps if layer(d) > layer(m)]
    assert upward == []
