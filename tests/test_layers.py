"""The package's imports flow one way: base → sources → engine → report → outputs → app, with no cycle.

Read from the source with ast (function-level imports included), so a lazy import cannot hide a
dependency that runs backwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "salesreport"

# the stage of each top-level module or subpackage; a module may import only from its own stage or earlier
STAGES = {
    "errors": 0, "model": 0, "config": 0, "periods": 0, "google": 0, "text": 0, "duck": 0, "spark": 0, "postgres": 0,
    "dialect": 0,
    "sources": 1,
    "engine": 2,
    "report": 3,
    "outputs": 4,
    "api": 5, "check": 5, "conversion": 5, "starter": 5, "sample": 5, "cli": 5, "__main__": 5, "__init__": 5,
}
STAGE_NAMES = ("base", "sources", "engine", "report", "outputs", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path) -> set[str]:
    """The package modules `name` imports (from any depth of its code)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            # `from .x import y` names module x.y when y is a module, else module x
            targets = [f"{root}.{a.name}" if f"{root}.{a.name}" in MODULES else root for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def stage_of(name: str) -> int:
    parts = name.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in STAGES, f"{name}: place this module in a stage of tests/test_layers.py"
    return STAGES[key]


def test_every_module_has_a_stage():
    for name in MODULES:
        stage_of(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_from_a_later_stage(name):
    later = [t for t in GRAPH[name] if stage_of(t) > stage_of(name)]
    assert not later, (
        f"{name} ({STAGE_NAMES[stage_of(name)]}) imports from a later stage: "
        + ", ".join(f"{t} ({STAGE_NAMES[stage_of(t)]})" for t in sorted(later))
    )


def test_no_import_cycle():
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if seen.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in seen:
                visit(nxt)
        path.pop()
        seen[node] = 2

    for node in sorted(GRAPH):
        if node not in seen:
            visit(node)


def test_config_knows_nothing_of_metrics_or_rendering():
    assert not {t for t in GRAPH["salesreport.config"] if stage_of(t) > 0}


def test_sheet_reading_and_pushing_are_separate_modules():
    reader, pusher = "salesreport.sources.gsheet", "salesreport.outputs.gsheet"
    assert reader in MODULES and pusher in MODULES
    assert pusher not in GRAPH[reader] and reader not in GRAPH[pusher]
    assert "salesreport.google" in GRAPH[reader] and "salesreport.google" in GRAPH[pusher]
