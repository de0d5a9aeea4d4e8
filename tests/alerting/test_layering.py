"""Where alerting sits: the core never imports it, exporters read its snapshot, no cycles.

The import graph is tests/test_layering.py's (which checks the other layers).
"""

from __future__ import annotations

from tests.test_layering import graph


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
