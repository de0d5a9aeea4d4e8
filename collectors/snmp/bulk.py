"""Several column walks in one request: the plan of the engine's `walk_many`.

As net-snmp's snmptable does, one GETBULK carries the last OID of several columns as
repeaters, and the answer holds row r of column c at index r × columns + c; on v1 (and for
agents that mishandle GETBULK) one GETNEXT carries them, one row each. A column whose next OID
leaves its subtree is done; the others go on in the next request. Rows asked per column follow
what the column held at the last poll of the agent, plus one to see its end, so a small
device's poll costs one or two requests instead of one per column. The engine's requests, its
per-agent state and its one-column walk do the rest (this module reaches into them on purpose:
it is the engine's, split off for size). Over 400 lines (about 450): the shared walk's loop, its
steps and the scalars that ride in its first request (get_and_walk) share one plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from netwatch.collectors.snmp import ber, predict
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value
from netwatch.collectors.snmp.walk import Walker

if TYPE_CHECKING:
    from netwatch.collectors.snmp.engine import SnmpEngine, _TargetState

WalkResult = dict[OID, "list[tuple[OID, Value]] | SnmpError"]
WALK_CONCURRENCY = 4  # one-column walks of one walk_many in flight at once
MAX_GETNEXT_COLUMNS = 32  # columns in one GETNEXT (v1, or agents that mishandle GETBULK)
# How a shared request went: columns fed; tooBig (ask smaller); lost, i.e. no answer after
# every try (ask smaller too); walk each alone.
_FED, _SMALLER, _ALONE, _LOST = 0, 1, 2, 3

# Bulk varbind budgets that worked after a reduction are doubled again after this many clean
# polls (the loss may have been transient), as the single walks' max-repetitions are.
BUDGET_RECOVERY = 16
# Polls asked the old way (GET, then walk) after the request carrying the scalars got no clean
# answer (get_and_walk), before they ride again.
CARRY_RECOVERY = 16


class Column(Walker):
    """One column's walk inside walk_many: a Walker plus what is expected of it (one object
    per column and poll, not two: a poll makes one per walked column)."""

    __slots__ = ("error", "expect", "kept", "suffixes")

    def __init__(self, root: OID, max_rows: int, expect: int) -> None:
        # Walker.__init__'s fields set here, not through super().__init__: a poll makes one
        # Column per walked column, and the super object, bound method and frame were most of
        # what one cost (tests/collectors/snmp/test_walk_many.py compares both walks' results).
        self.root = root = tuple(root)
        self.last = root
        self.rows = []
        self.max_rows = max_rows
        self.done = False
        self.truncated = False
        self.expect = expect  # rows still expected (from the last poll), or -1 when unknown
        self.error: SnmpError | None = None
        self.suffixes: predict.Suffixes | None = None  # its rows at the last poll (predict.py)
        self.kept: predict.Suffixes | None = None  # answered as predicted: the same rows


@dataclass(slots=True)
class RowsHint:
    """Rows each root held at the last walk_many of one agent (one plan per agent), and
    their indexes where the column was read whole (predict.py; None elsewhere)."""

    roots: tuple[OID, ...]
    rows: tuple[int, ...]
    points: tuple[predict.Suffixes | None, ...] | None = None


def columns_for(roots: Sequence[OID], hint: RowsHint | None, max_rows: int) -> list[Column]:
    """A Column per distinct root, expecting what the hint says when it is for these roots."""
    counts: Sequence[int] | None = None
    points: Sequence[predict.Suffixes | None] | None = None
    if hint is not None and (hint.roots is roots or hint.roots == tuple(roots)):
        counts, points = hint.rows, hint.points
    out: list[Column] = []
    seen: set[OID] = set()
    for i, root in enumerate(roots):
        if root in seen:
            continue
        seen.add(root)
        col = Column(root, max_rows, counts[i] if counts is not None else -1)
        if points is not None:
            col.suffixes = points[i]
        out.append(col)
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
    # Each column's want once; positions sorted by it (stable: ties keep the given order).
    # Ints and one list each, no tuple per column: the walk's allocations are where the
    # cyclic collector's passes start in a 50k run (docs/performance.md, branch snmpcpu).
    wants = [_want(c, max_reps) for c in columns]
    out: list[tuple[list[Column], int]] = []
    group: list[Column] = []
    reps = 0
    for i in sorted(range(len(wants)), key=wants.__getitem__):
        want, col = wants[i], columns[i]
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
    room = col.max_rows - len(col.rows)
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
        before = len(col.rows)
        expected = col.expect
        try:
            col.feed(target, mine)
        except SnmpError as exc:  # this column's agent data is bad; the others are not
            col.error = exc
            col.done = True
        if expected >= 0:
            col.expect = max(0, expected - (len(col.rows) - before))
            if expected == 0 and not col.done:
                col.expect = -1  # longer than last time: ask for full pages


def learn(roots: Sequence[OID], columns: Sequence[Column]) -> RowsHint:
    """The hint for the next poll: rows each root held now (0 for a failed column)."""
    rows = {c.root: (0 if c.error else len(c.rows)) for c in columns}
    seen = {c.root: predict.suffixes_of(c) for c in columns}
    return RowsHint(
        tuple(roots),
        tuple(rows.get(tuple(r), 0) for r in roots),
        tuple(seen.get(tuple(r)) for r in roots),
    )


async def walk_many(
    engine: SnmpEngine, target: Target, roots: Sequence[OID], max_rows: int
) -> WalkResult:
    """SnmpEngine.walk_many: every root's rows, or its SnmpError."""
    if target.version == "3" or target.bulk_varbinds <= 0:
        return await _walk_each(engine, target, roots, max_rows)
    _, addr = await engine._address(target)
    state = engine._state(addr)
    if state.no_shared_walks:
        return await _walk_each(engine, target, roots, max_rows)
    return await _walk_shared(engine, target, state, roots, max_rows, None)


async def get_and_walk(
    engine: SnmpEngine, target: Target, oids: Sequence[OID], roots: Sequence[OID], max_rows: int
) -> tuple[dict[OID, Value], WalkResult] | None:
    """SnmpEngine.get_and_walk: the scalars ride as non-repeaters of the walk's first GETBULK.

    Each scalar x.0 is asked as a non-repeater for x (RFC 3416 §4.2.3: a non-repeater is a
    GETNEXT), whose answer is x.0 itself when the agent has it; any other answer (the next
    object, endOfMibView) is the GET's noSuchObject. None, with nothing asked, where the walk
    would not start with a plain shared GETBULK (v1, v3, agents without GETBULK or shared
    walks, a budget cut in force, a scalar not ending in .0), and None too when the carrying
    answer is anything but a clean one (lost, tooBig, an error, too few varbinds): its columns
    and the other requests are forgotten, the agent is asked the old way (GET, then walk) for
    the next CARRY_RECOVERY polls, and the caller GETs and walks as before.
    """
    if target.version != "2c" or target.bulk_varbinds <= 0 or not oids or not roots:
        return None
    if not all(o and o[-1] == 0 and len(o) > 1 for o in oids):
        return None
    _, addr = await engine._address(target)
    state = engine._state(addr)
    if state.no_bulk or state.no_shared_walks or state.bulk_cap is not None:
        return None
    if state.carry_pause > 0:
        state.carry_pause -= 1
        return None
    values: dict[OID, Value] = {}
    try:
        walked = await _walk_shared(engine, target, state, roots, max_rows, (oids, values))
    except (_Declined, predict.Declined):
        state.carry_pause = CARRY_RECOVERY
        engine.stats.carry_declined += 1
        return None
    return values, walked


class _Declined(Exception):
    """The request carrying the scalars got no clean answer: the poll is asked the old way."""


async def _walk_shared(
    engine: SnmpEngine,
    target: Target,
    state: _TargetState,
    roots: Sequence[OID],
    max_rows: int,
    carry: tuple[Sequence[OID], dict[OID, Value]] | None,
) -> WalkResult:
    columns = columns_for(roots, state.rows_hint, max_rows)
    full = max(1, target.max_repetitions)
    configured = max(1, target.bulk_varbinds)
    budget, clean = state.bulk_cap or (configured, 0)
    # A budget cut by lost answers alone is asked at full size again after one clean poll:
    # an agent (or our own loop) too busy to answer in time looks the same as an answer too
    # big to arrive, and only the second stays true when asked again.
    checking = state.bulk_cap is not None and state.bulk_cap_unconfirmed and clean >= 1
    cut = budget
    if checking:
        budget = configured
    budget = min(budget, configured)
    reduced = worked = False  # a reduction is kept only if a smaller request then worked
    too_big = False  # an agent said tooBig (not only: answers were lost)
    alone: list[Column] = []
    pending = columns
    if carry is not None and budget == configured:  # a steady poll: asked where rows were
        predicted, requests, rest = predict.plan(columns, budget)
        if requests:
            await predict.ask(engine, target, predicted, requests, carry)
            carry = None
            pending = [*rest, *(c for c in predicted if not c.done)]
    while pending:
        if target.version == "1" or state.no_bulk:  # GETNEXT: one row of each column
            width = max(1, min(budget, MAX_GETNEXT_COLUMNS))
            plan = [(pending[i : i + width], 1) for i in range(0, len(pending), width)]
        else:
            plan = batches(pending, full, budget)
        if carry is not None:  # the first round only: one request carries the scalars
            plan = _carrier_first(plan)
        outcomes = await _steps(engine, target, state, plan, carry)
        carry = None
        planned_reduced = reduced
        pending = []
        for (group, reps), outcome in zip(plan, outcomes, strict=True):
            if outcome in (_SMALLER, _LOST) and len(group) * reps > 1:
                # Checking a cut: lost again at full size confirms it; back to it at once.
                half = cut if checking and outcome == _LOST else len(group) * reps // 2
                budget = min(budget, max(1, half))
                reduced = True
                too_big = too_big or outcome == _SMALLER
                engine.stats.repetition_reductions += 1
                pending += group
            elif outcome != _FED:
                alone += group
            else:
                worked = worked or planned_reduced
                pending += [c for c in group if not c.done]
    if alone:  # what a shared request could not do, each column's own walk does
        await _gather_bounded([partial(_walk_alone, engine, target, state, c) for c in alone])
    for col in columns:
        if col.truncated and col not in alone:
            engine.stats.truncated_walks += 1
    state.rows_hint = learn(roots, columns)
    _learn_budget(state, configured, budget, reduced and worked, clean, too_big or checking,
                  checking and not reduced)  # fmt: skip
    return {c.root: c.error if c.error is not None else c.rows for c in columns}


def _carrier_first(plan: list[tuple[list[Column], int]]) -> list[tuple[list[Column], int]]:
    """The plan with its smallest request (the fewest varbinds) first: it carries the scalars.

    The scalars are not counted in the budget (bulk_varbinds is columns × repetitions, as
    net-snmp's maxGetbulkResponses limits only the repeaters' rows): they were a GET of their
    own, and a small device's walk is often one request of the whole budget. An agent that
    cannot send the larger answer loses it: declined, and asked the old way for a while."""
    sizes = [len(g) * r for g, r in plan]
    best = min(range(len(plan)), key=sizes.__getitem__)
    return [plan[best], *plan[:best], *plan[best + 1 :]]


async def _steps(
    engine: SnmpEngine,
    target: Target,
    state: _TargetState,
    plan: list[tuple[list[Column], int]],
    carry: tuple[Sequence[OID], dict[OID, Value]] | None = None,
) -> list[int]:
    """The plan's requests at once, their outcomes in plan order. The first is awaited here
    and only the others get a task each (a usual poll has one or two): no gather. carry: the
    first request also asks for these scalars (non-repeaters), their values go in the dict."""
    (first, reps), rest = plan[0], plan[1:]
    if not rest:
        return [await _step(engine, target, state, first, reps, carry)]
    tasks = [asyncio.ensure_future(_step(engine, target, state, g, r)) for g, r in rest]
    try:
        outcomes = [await _step(engine, target, state, first, reps, carry)]
        for task in tasks:
            outcomes.append(await task)
    finally:
        for task in tasks:  # cancelled, or a bug in one step: none is left running
            task.cancel()
    return outcomes


async def _step(
    engine: SnmpEngine,
    target: Target,
    state: _TargetState,
    group: list[Column],
    reps: int,
    carry: tuple[Sequence[OID], dict[OID, Value]] | None = None,
) -> int:
    """One request for the group's columns; feeds them and says how it went. With carry, the
    scalars ride first as non-repeaters and anything but a clean answer raises _Declined."""
    oids = [c.last for c in group]
    getnext = target.version == "1" or state.no_bulk
    # A big answer that never comes is often one the agent could not send: one try, then
    # fewer columns or rows (the same budget of varbinds, halved).
    tries = None if getnext or (len(group) == 1 and reps == 1) else 1
    if carry is not None:
        return await _carrying_step(engine, target, state, group, reps, carry)
    try:
        if getnext:
            msg = await engine._request(target, ber.GETNEXT, oids, tries=tries)
        else:
            msg = await engine._request(target, ber.GETBULK, oids, reps, tries=tries)
    except SnmpError as exc:
        return _LOST if exc.reason == "timeout" else _ALONE
    if msg.error_status == ber.TOO_BIG:
        return _SMALLER
    if target.version == "1" and msg.error_status == ber.NO_SUCH_NAME:
        # v1 fails the whole GETNEXT when one column runs off the end of the MIB view: that
        # column is done (as a one-column v1 walk ends there); ask again for the rest.
        if 0 < msg.error_index <= len(group):
            group[msg.error_index - 1].done = True
            return _FED
        return _ALONE
    if msg.error_status != 0 or not msg.varbinds:
        return _ALONE  # errors and agents that mishandle GETBULK: the one-column walk knows
    if getnext and len(msg.varbinds) != len(group):
        return _ALONE
    if not _row_major(group, msg.varbinds):
        # An agent that answers several repeaters out of order (column by column, or only the
        # first): its columns are walked one by one from now on, never read crosswise.
        if not state.no_shared_walks:
            state.no_shared_walks = True
            engine.stats.bulk_fallbacks += 1
        return _ALONE
    feed(target, group, msg.varbinds)
    return _FED


async def _carrying_step(
    engine: SnmpEngine,
    target: Target,
    state: _TargetState,
    group: list[Column],
    reps: int,
    carry: tuple[Sequence[OID], dict[OID, Value]],
) -> int:
    scalars, values = carry
    n = len(scalars)
    asked = [o[:-1] for o in scalars]  # GETNEXT of x answers x.0 when the agent has it
    asked += [c.last for c in group]
    try:  # tried once: on a loss the caller's GET is the next try (and has its retries)
        msg = await engine._request(target, ber.GETBULK, asked, reps, tries=1, non_repeaters=n)
    except SnmpError:
        raise _Declined from None
    varbinds = msg.varbinds
    if msg.error_status != 0 or len(varbinds) <= n or not _row_major(group, varbinds[n:]):
        raise _Declined
    missing = _NO_SUCH_OBJECT
    for oid, (got, value) in zip(scalars, varbinds, strict=False):
        values[oid] = value if got == oid else missing
    feed(target, group, varbinds[n:])
    return _FED


_NO_SUCH_OBJECT = Value(Kind.NO_SUCH_OBJECT, None)


def _row_major(group: Sequence[Column], varbinds: Sequence[tuple[OID, Value]]) -> bool:
    """Whether the first row answers each column: an OID after the one asked, or the end of
    the MIB view (RFC 3416 §4.2.3)."""
    end = Kind.END_OF_MIB_VIEW
    return all(
        oid > col.last or value.kind is end
        for col, (oid, value) in zip(group, varbinds, strict=False)
    )


async def _walk_alone(engine: SnmpEngine, target: Target, state: _TargetState, col: Column) -> None:
    try:
        await engine._walk_on(target, state, col)
    except SnmpError as exc:
        col.error = exc


async def _walk_each(
    engine: SnmpEngine, target: Target, roots: Sequence[OID], max_rows: int
) -> WalkResult:
    out: WalkResult = {}

    async def one(root: OID) -> None:
        try:
            out[root] = await engine.walk(target, root, max_rows=max_rows)
        except SnmpError as exc:
            out[root] = exc

    await _gather_bounded([partial(one, r) for r in dict.fromkeys(roots)])
    return out


async def _gather_bounded(jobs: list[Callable[[], Coroutine[None, None, None]]]) -> None:
    """Run the jobs, WALK_CONCURRENCY at a time. Each coroutine is made when its turn comes:
    one made up front and then cancelled with its waiting turn (a poll cancelled at shutdown)
    would never be awaited (Python's "coroutine ... was never awaited" warning)."""
    sem = asyncio.Semaphore(WALK_CONCURRENCY)

    async def bounded(job: Callable[[], Coroutine[None, None, None]]) -> None:
        async with sem:
            await job()

    await asyncio.gather(*(bounded(j) for j in jobs))


def _learn_budget(
    state: _TargetState,
    configured: int,
    budget: int,
    reduced: bool,
    clean: int,
    sure: bool,
    refuted: bool,
) -> None:
    """As the engine's _learn_repetitions, for the varbinds of one shared request. A cut made
    by lost answers alone is unconfirmed (asked at full size after a clean poll: walk_many);
    a tooBig, or losses again at full size, make it sure: kept for BUDGET_RECOVERY polls.
    refuted: the unconfirmed cut was asked at full size and nothing was lost."""
    if reduced:
        state.bulk_cap = (budget, 0)
        state.bulk_cap_unconfirmed = not sure
    elif refuted:
        state.bulk_cap = None
        state.bulk_cap_unconfirmed = False
    elif state.bulk_cap is not None:
        if clean + 1 < BUDGET_RECOVERY:
            state.bulk_cap = (budget, clean + 1)
        elif budget * 2 >= configured:
            state.bulk_cap = None
        else:
            state.bulk_cap = (budget * 2, 0)
