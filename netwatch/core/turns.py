"""Long work on the event loop in pieces, with the loop's other work let through between them.

A reload at 50,000 devices adopts the new inventory part by part; a part done in one piece
held the loop tens of ms, and a scheduler job needs three turns of the loop to start (its
APScheduler timer, the slot's task, the device's run), so every such piece before each hop
added to the polls' lag (issue 10). After each piece `give_way` lets the loop make one turn,
and more while other callbacks are ready (a chain of tasks started meanwhile runs on), up to a
bound, before the next piece.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")

GIVE_WAY_TURNS = 4  # turns at most after a piece, while other callbacks are ready
GIVE_WAY_SECONDS = 0.01  # ... and while the others' work since the piece is under this


async def give_way(turns: int = GIVE_WAY_TURNS, seconds: float = GIVE_WAY_SECONDS) -> None:
    """A turn of the loop, then up to `turns` more while other callbacks are ready (and until
    `seconds` have passed)."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)  # asyncio's callbacks due now (uvloop: one turn)
    end = time.perf_counter() + seconds
    await asyncio.sleep(0)
    for _ in range(turns):
        if not ready or time.perf_counter() >= end:
            return
        await asyncio.sleep(0)


async def in_turns(steps: Generator[None, None, T]) -> T:
    """Run a generator of work to its end, giving way at each of its yields; its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await give_way()
