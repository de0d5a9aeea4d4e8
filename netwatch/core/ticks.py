"""One grid of loop time for periodic timers, so that timers of different parts share wake-ups.

A timer armed `step` seconds from an arbitrary moment goes off in a turn of the event loop of
its own; armed at the next multiple of `step` instead, it goes off in the same turn as every
other timer on that grid (the echo stream's slots end on multiples of their width: 50 ms at
the defaults, 100 or 200 ms at small inventories; see collectors/icmp/wheel.py. The SNMP
deadline timer's 0.2 s step is a multiple of all three, and so are the one-second timers: the
alert engine's tick, the heartbeat, the outbox's look, the lag probe's drop reading). A turn (a
select, the timer heap) costs ~25-30 µs whatever it runs, and a turn that ends a real sleep
of the loop's thread costs more: on this 2-core VM a vCPU that slept wakes to cold caches
(bench/loop_census.py counts both: turns, and the sleeps each timer or socket ended).
"""

from __future__ import annotations

import asyncio
import math

GRID = 0.05  # seconds: the echo stream's slot at the default ping settings


def next_tick(now: float, step: float) -> float:
    """The first multiple of step after now (loop time): at most step seconds away."""
    return (math.floor(now / step) + 1) * step


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def sleep_to_tick(step: float) -> None:
    """Sleep until the next multiple of step in loop time (asyncio.sleep(step) from whenever
    it is called would wake the loop in a turn of its own)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    handle = loop.call_at(next_tick(loop.time(), step), _wake, fut)
    try:
        await fut
    finally:
        handle.cancel()  # (cancelled while asleep: no timer left behind)
