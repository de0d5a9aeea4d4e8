"""Layers of docs/architecture.md: core below collectors and exporters, and no import cycles.

Imports are read from the source (ast), at any depth: a lazy import inside a function counts.
An import under `if TYPE_CHECKING:` names types only and never runs, so it is left out.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from tests.helpers.shared import REPO

# Source folders by the package name they install as (setup.py's package_dir).
FOLDERS = {
    "netwatch": "netwatch",
    "netwatch.collectors": "collectors",
    "netwatch.exporters": "exporters",
}
# What runs the parts rather than being one: the CLI, the web app, the demo, the alert engine.
ABOVE_CORE = (
    "netwatch.alerting",
    "netwatch.exporters",
    "netwatch.collectors",
    "netwatch.web",
    "netwatch.commands",
    "netwatch.cli",
    "netwatch.demo",
)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """Import nodes inside `if TYPE_CHECKING:` blocks."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
            if name == "TYPE_CHECKING":
                out.update(n for stmt in node.body for n in ast.walk(stmt))
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that module `name` imports.

    `from package import submodule` imports the submodule (the package's __init__ runs
    first in any case, as for every import below it), not what the __init__ re-exports.
    """
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{a.name}" for a in node.names]
            targets = [s for s in subs if s in known]
            if len(targets) < len(subs):
                targets.append(base)  # a name the package (or module) itself defines
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


def crossing(
    g: dict[str, set[str]], source: Callable[[str], bool], target: Callable[[str], bool]
) -> list[tuple[str, str]]:
    return sorted((m, t) for m, ts in g.items() if source(m) for t in ts if target(t))


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each module that is on one (breadth-first from itself)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for start in sorted(g):
        before: dict[str, str] = {}
        todo = [start]
        cycle: list[str] = []
        while todo and not cycle:
            nxt = []
            for m in todo:
                for t in sorted(g.get(m, ())):
                    if t == start:
                        cycle = [m]
                        while cycle[-1] != start:
                            cycle.append(before[cycle[-1]])
                        break
                    if t not in before:
                        before[t] = m
                        nxt.append(t)
                if cycle:
                    break
            todo = nxt
        if cycle and frozenset(cycle) not in seen:
            seen.add(frozenset(cycle))
            found.append([*reversed(cycle), start])
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_cycles_are_found() -> None:
    # The check itself: a cycle of three and a self-contained module.
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c[:-1]) for c in cycles(g)] == [["a", "b", "c"]]


def test_core_imports_nothing_above_it() -> None:
    # runtime.py is where the running parts are wired together: it may import every one.
    bad = crossing(
        graph(),
        lambda m: m.startswith("netwatch.core") and m != "netwatch.core.runtime",
        lambda t: t.startswith(ABOVE_CORE),
    )
    assert bad == []


def test_exporters_import_no_collector_and_no_alert_engine() -> None:
    # Of alerting, an exporter reads the published snapshot and the state names only.
    readable = {"netwatch.alerting.snapshot", "netwatch.alerting.rules"}
    bad = crossing(
        graph(),
        lambda m: m.startswith("netwatch.exporters"),
        lambda t: (
            t.startswith("netwatch.collectors")
            or (t.startswith("netwatch.alerting") and t not in readable)
        ),
    )
    assert bad == []


def test_collectors_import_no_exporter_alerting_or_web() -> None:
    above = ("netwatch.exporters", "netwatch.alerting", "netwatch.web", "netwatch.commands")
    bad = crossing(
        graph(),
        lambda m: m.startswith("netwatch.collectors"),
        lambda t: t.startswith((*above, "netwatch.cli", "netwatch.demo")),
    )
    assert bad == []


def test_long_modules_say_why() -> None:
    # The style rule: no module over ~400 lines without its reason in its docstring.
    unexplained = []
    for path in modules().values():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400 and "400 lines" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(str(path.relative_to(REPO)))
    assert unexplained == []


def test_imports_are_read_as_python_resolves_them(tmp_path: Path) -> None:
    # `from pkg import sub` is the submodule; a re-exported name is the package; a type-only
    # import is left out.
    (tmp_path / "m.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from p import sub, NAME\n"
        "from p.q import thing\n"
        "if TYPE_CHECKING:\n"
        "    from r import T\n"
        "def f():\n"
        "    import s\n",
        encoding="utf-8",
    )
    known = {"p", "p.sub", "p.q", "r", "s", "m"}
    assert imports("m", tmp_path / "m.py", known) == {"p", "p.sub", "p.q", "s"}
