"""Several column walks in one request: the plan of the engine's `walk_many`.

As net-snmp's snmptable does, one GETBULK carries the last OID of several columns as
repeaters, and the answer holds row r of column c at index r × columns + c; on v1 (and for
agents that mishandle GETBULK) one GETNEXT carries them, one row each. A column whose next OID
leaves its subtree is done; the others go on in the next request. Rows asked per column follow
what the column held at the last poll of the agent, plus one to see its end, so a small
device's poll costs one or two requests instead of one per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netwatch.collectors.snmp.types import OID, SnmpError, Target, Value
from netwatch.collectors.snmp.walk import Walker

# Bulk varbind budgets that worked after a reduction are doubled again after this many clean
# polls (the loss may have been transient), as the single walks' max-repetitions are.
BUDGET_RECOVERY = 16


@dataclass(slots=True, eq=False)
class Column:
    """One column's walk inside walk_many: the shared Walker plus what is expected of it."""

    walker: Walker
    expect: int  # rows still expected (from the last poll), or -1 when unknown
    error: SnmpError | None = None


@dataclass(slots=True)
class RowsHint:
    """Rows each root held at the last walk_many of one agent (one plan per agent)."""

    roots: tuple[OID, ...]
    rows: tuple[int, ...]


def columns_for(roots: Sequence[OID], hint: RowsHint | None, max_rows: int) -> list[Column]:
    """A Column per distinct root, expecting what the hint says when it is for these roots."""
    counts: Sequence[int] | None = None
    if hint is not None and (hint.roots is roots or hint.roots == tuple(roots)):
        counts = hint.rows
    out: list[Column] = []
    seen: set[OID] = set()
    for i, root in enumerate(roots):
        if root in seen:
            continue
        seen.add(root)
        out.append(Column(Walker(root, max_rows), counts[i] if counts is not None else -1))
    return out


def batches(
    columns: Sequence[Column], max_reps: int, budget: int
) -> list[tuple[list[Column], int]]:
    """Group columns into requests of (columns, max-repetitions), columns × reps ≤ budget.

    Columns are taken by expected rows, fewest first, so that columns of similar length share
    a request (a short column in a long request reads rows past its end: wasted varbinds).
    Each request asks for the most rows any of its columns expects, plus one to see the end,
    at most max_reps; a column whose length is unknown asks for max_reps.
    """
    sized = sorted(columns, key=lambda c: _want(c, max_reps))
    out: list[tuple[list[Column], int]] = []
    group: list[Column] = []
    reps = 0
    for col in sized:
        want = _want(col, max_reps)
        if group and max(reps, want) * (len(group) + 1) > budget:
            out.append((group, reps))
            group, reps = [], 0
        group.append(col)
        reps = max(reps, want)
    if group:
        out.append((group, reps))
    # A lone column may still ask for more than the budget: the budget wins.
    return [(g, max(1, min(r, budget // len(g)))) for g, r in out]


def _want(col: Column, max_reps: int) -> int:
    walker = col.walker
    room = walker.max_rows - len(walker.rows)
    # expect + 1 sees the end; at 0, a column that filled its last page asks for one more row
    # to see its end (not for a whole page: it ended there last time).
    want = max_reps if col.expect < 0 else col.expect + 1
    return max(1, min(want, max_reps, room + 1))


def feed(target: Target, group: Sequence[Column], varbinds: Sequence[tuple[OID, Value]]) -> None:
    """Hand each column its share of a multi-column answer (row-major), in order."""
    width = len(group)
    for i, col in enumerate(group):
        mine = varbinds[i::width]
        if not mine:
            continue
        before = len(col.walker.rows)
        expected = col.expect
        try:
            col.walker.feed(target, mine)
        except SnmpError as exc:  # this column's agent data is bad; the others are not
            col.error = exc
            col.walker.done = True
        if expected >= 0:
            col.expect = max(0, expected - (len(col.walker.rows) - before))
            if expected == 0 and not col.walker.done:
                col.expect = -1  # longer than last time: ask for full pages


def learn(roots: Sequence[OID], columns: Sequence[Column]) -> RowsHint:
    """The hint for the next poll: rows each root held now (0 for a failed column)."""
    rows = {c.walker.root: (0 if c.error else len(c.walker.rows)) for c in columns}
    return RowsHint(tuple(roots), tuple(rows.get(tuple(r), 0) for r in roots))
