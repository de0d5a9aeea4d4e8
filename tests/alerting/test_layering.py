"""Where alerting sits: the core never imports it, exporters read its snapshot, no cycles.

Imports are read from the source (ast), at any depth: a lazy import inside a function counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.shared import REPO

# Source folders by the package name they install as (setup.py's package_dir).
FOLDERS = {
    "netwatch": "netwatch",
    "netwatch.collectors": "collectors",
    "netwatch.exporters": "exporters",
}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that module `name` imports."""
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports(name, path, known) for name, path in mods.items()}


def test_core_does_not_import_alerting() -> None:
    # runtime.py is where the running parts are wired together: it may import every one.
    bad = sorted(
        (m, t)
        for m, ts in graph().items()
        if m.startswith("netwatch.core") and m != "netwatch.core.runtime"
        for t in ts
        if t.startswith("netwatch.alerting")
    )
    assert bad == []


def test_exporters_do_not_import_the_engine() -> None:
    engine_side = {"netwatch.alerting.engine", "netwatch.alerting.service"}
    bad = sorted(
        (m, t)
        for m, ts in graph().items()
        if m.startswith("netwatch.exporters")
        for t in ts
        if t in engine_side
    )
    assert bad == []


def test_no_import_cycle_through_alerting() -> None:
    g = graph()
    # Tarjan-free check: a module is on a cycle when it can reach itself.
    cycles = []
    for start in (m for m in g if m.startswith("netwatch.alerting")):
        seen: set[str] = set()
        todo = list(g[start])
        while todo:
            m = todo.pop()
            if m == start:
                cycles.append(start)
                break
            if m not in seen:
                seen.add(m)
                todo.extend(g.get(m, ()))
    assert cycles == []
