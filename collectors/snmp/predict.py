"""A steady poll's walk in one request: each column asked where the last poll found its rows.

From an agent's second poll (bulk.get_and_walk), each column the last poll read whole is asked
as GETNEXTs of its root and of every row it held (RFC 3416 §4.2.2: the GETNEXT of row i answers
the row after i, the next column, or endOfMibView). A column of k rows costs k + 1 varbinds, the
last one showing its end, whatever the other columns hold; in a GETBULK every column is asked
for as many rows as the longest in its request, plus one. A small device's columns and its
system scalars (GETNEXTs of x for x.0, as the carrying GETBULK asks them) then fit one GETNEXT.

An answer is used only as far as it links: the answer to the GETNEXT of row i counts only when
row i was the answer before it (nothing changed there since the last poll). From the first break
on (a row added, moved or gone) the column is walked on from its last linked row as before: a
table that changed costs more requests and is still read whole. Anything but a clean answer
(lost, tooBig, an error, another count of varbinds, an OID not after the one asked) declines:
the poll is asked the old way (GET, then GETBULKs) and so are the agent's next polls for a
while (bulk.CARRY_RECOVERY), as a declined carrying GETBULK is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value

if TYPE_CHECKING:
    from netwatch.collectors.snmp.bulk import Column
    from netwatch.collectors.snmp.engine import SnmpEngine

# Each row's index (its OID after the column's) at the last poll, per column. The same lists are
# shared by every column and agent that has them (interned): the columns of one table, and
# agents of one kind, hold the same indexes.
Suffixes = tuple[tuple[int, ...], ...]
_INTERNED: dict[Suffixes, Suffixes] = {}
_INTERNED_MAX = 50_000
# The GETNEXT points of a column (its root, then each row), per (root, interned suffixes):
# full OIDs, so kept for a few thousand lists only (agents of one kind share them; a site of
# all-different devices rebuilds them at each poll).
_POINTS: dict[tuple[OID, int], tuple[Suffixes, tuple[OID, ...]]] = {}
_POINTS_MAX = 4096
_END = Kind.END_OF_MIB_VIEW
_NO_SUCH_OBJECT = Value(Kind.NO_SUCH_OBJECT, None)


class Declined(Exception):
    """A predicted request got no clean answer: the poll is asked the old way."""


def intern(suffixes: Suffixes) -> Suffixes:
    got = _INTERNED.get(suffixes)
    if got is None:
        if len(_INTERNED) >= _INTERNED_MAX:
            _INTERNED.clear()
        got = _INTERNED[suffixes] = suffixes
    return got


def suffixes_of(col: Column) -> Suffixes | None:
    """The column's rows as the next poll asks for them; None when it was not read whole."""
    if col.error is not None or col.truncated or not col.done:
        return None
    if col.kept is not None:  # answered exactly as predicted: the same rows
        return col.kept
    n = len(col.root)
    return intern(tuple([oid[n:] for oid, _ in col.rows]))


def _points(col: Column, suffixes: Suffixes) -> tuple[OID, ...]:
    key = (col.root, id(suffixes))
    got = _POINTS.get(key)
    if got is not None and got[0] is suffixes:
        return got[1]
    root = col.root
    points = (root, *[root + s for s in suffixes])
    if len(_POINTS) >= _POINTS_MAX:
        _POINTS.clear()
    _POINTS[key] = (suffixes, points)
    return points


Segment = tuple["Column", tuple[OID, ...], int, int]  # a column, its points, [lo, hi) of them


def plan(
    columns: Sequence[Column], budget: int
) -> tuple[list[Column], list[list[Segment]], list[Column]]:
    """(predicted columns, their requests of at most budget varbinds, the other columns).

    A column is predicted when the last poll read it whole and its rows + 1 fit one request.
    Columns are packed in the order given, a column that does not fit what is left of a
    request split across it and the next (each GETNEXT stands alone): ⌈Σ (rows + 1) / budget⌉
    requests."""
    predicted: list[Column] = []
    rest: list[Column] = []
    requests: list[list[Segment]] = []
    group: list[Segment] = []
    room = budget
    for col in columns:
        s = col.suffixes
        size = len(s) + 1 if s is not None else 0
        if s is None or size > budget or size > col.max_rows:
            rest.append(col)
            continue
        predicted.append(col)
        points = _points(col, s)
        lo = 0
        while lo < size:
            if room == 0:
                requests.append(group)
                group, room = [], budget
            hi = min(size, lo + room)
            group.append((col, points, lo, hi))
            room -= hi - lo
            lo = hi
    if group:
        requests.append(group)
    return predicted, requests, rest


async def ask(
    engine: SnmpEngine,
    target: Target,
    predicted: list[Column],
    requests: list[list[Segment]],
    carry: tuple[Sequence[OID], dict[OID, Value]],
) -> None:
    """The predicted requests at once, the scalars in the first; then feeds the columns."""
    first, rest = requests[0], requests[1:]
    tasks = [asyncio.ensure_future(_one(engine, target, g, None)) for g in rest]
    try:
        answers = [await _one(engine, target, first, carry)]
        for task in tasks:
            answers.append(await task)
    finally:
        for task in tasks:  # declined, cancelled: none is left running, no error left unread
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()
    if not rest:  # one request (the usual poll): each column is one span of it
        at = 0
        for col, points, lo, hi in first:
            _feed(target, col, answers[0][at : at + hi - lo], points)
            at += hi - lo
        return
    got: dict[int, list[tuple[OID, Value]]] = {id(c): [] for c in predicted}
    for group, varbinds in zip(requests, answers, strict=True):
        at = 0
        for col, _, lo, hi in group:
            got[id(col)] += varbinds[at : at + hi - lo]
            at += hi - lo
    for col in predicted:
        _feed(target, col, got[id(col)], _points(col, col.suffixes))  # type: ignore[arg-type]


async def _one(
    engine: SnmpEngine,
    target: Target,
    group: list[Segment],
    carry: tuple[Sequence[OID], dict[OID, Value]] | None,
) -> list[tuple[OID, Value]]:
    """One GETNEXT of the group's points (after the scalars): the points' answers."""
    asked: list[OID] = []
    if carry is not None:
        asked += [o[:-1] for o in carry[0]]  # GETNEXT of x answers x.0 when the agent has it
    n = len(asked)
    for _, points, lo, hi in group:
        asked += points[lo:hi]
    try:  # tried once: on a loss the old way's GET is the next try (and has its retries)
        msg = await engine._request(target, ber.GETNEXT, asked, tries=1)
    except SnmpError:
        raise Declined from None
    varbinds = msg.varbinds
    if msg.error_status != 0 or len(varbinds) != len(asked):
        raise Declined
    for (oid, value), point in zip(varbinds, asked, strict=True):
        if oid <= point and value.kind is not _END:
            raise Declined  # not a GETNEXT's answer: the old way's checks will say what it is
    if carry is not None:
        values = carry[1]
        for oid, (got, value) in zip(carry[0], varbinds, strict=False):
            values[oid] = value if got == oid else _NO_SUCH_OBJECT
    return varbinds[n:]


def _feed(
    target: Target, col: Column, answers: list[tuple[OID, Value]], points: tuple[OID, ...]
) -> None:
    """Feed the column its answers as far as they link; mark it kept when all did."""
    k = len(points)
    taken = 1
    while taken < k:
        oid, value = answers[taken - 1]
        if value.kind is _END or oid != points[taken]:
            break
        taken += 1
    try:
        col.feed(target, answers[:taken])
    except SnmpError as exc:  # this column's data is bad; the others are not
        col.error = exc
        col.done = True
        return
    if not col.done:  # the table changed past the last linked row: walked on from there,
        col.expect = 0  # one row asked, then full pages if it goes on
    elif taken == k and len(col.rows) == k - 1:
        col.kept = col.suffixes  # the rows of the last poll, and no other
