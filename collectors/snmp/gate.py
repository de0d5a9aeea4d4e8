"""A per-agent limit on requests in flight, without an allocation when a slot is free.

asyncio.Semaphore's `async with` makes an acquire coroutine and, in `locked()`, a generator
per request; at 50,000 devices that is ~1,000 short-lived objects a second on the SNMP path
for a limit that is almost never reached. Here a free slot is a counter decrement; only a
request that must wait makes a future. Waiters are served first come, first served.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Gate:
    """At most `slots` holders at once: `if not gate.take(): await gate.wait()`, then
    `gate.release()` (in a finally)."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Take a free slot now if there is one and nobody waits before us."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Wait for a slot (after take() said no); the slot is ours when this returns."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot, then cancelled before using it: pass it on
            raise

    def release(self) -> None:
        """Give the slot to the first waiter still waiting, else free it."""
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():  # cancelled waiters are skipped here
                fut.set_result(None)
                return
        self._free += 1
