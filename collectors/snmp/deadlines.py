"""Timeouts of an engine's outstanding requests: one loop timer for all, not one per request.

Deadlines are queued per timeout value in send order, so each queue is sorted; one timer
ticks every `granularity` seconds (a tenth of the shortest timeout queued, at most) while any
deadline is queued and hands the tokens whose time is up to `on_expiry`. A request therefore
times out between `timeout` and `timeout + granularity`: at most 0.2 s late at the default
2 s. The ticks fall on multiples of their step in loop time (netwatch/core/ticks.py), so 0.2 s
ticks share their turns with the echo stream's slots, 50 to 200 ms wide (all divide 0.2 s;
collectors/icmp/wheel.py): at 1,000 devices some request is always out, and 50 ms ticks were
20 wake-ups a second of ~30-40 µs each (bench/loop_census.py), 0.2 s ticks are 5.

Answered requests are not removed: `on_expiry` ignores a token whose request is gone; once no
request is outstanding at all, the engine drops every token and stops the timer (`close`). A
token is (request-id, attempt serial), ints only, so the queue holds no reply alive and gives
the garbage collector nothing to traverse. This replaces a `call_later` and a `cancel` per
request (a timer handle, two heap operations, and the loop's clean-up of cancelled handles).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from netwatch.core.ticks import next_tick

GRANULARITY = 0.2  # seconds: how late a timeout may fire, at most (see the docstring)
LATE = 0.1  # of a timeout: how late it may fire, at most (short timeouts: tests, a LAN)


Token = tuple[int, int]


class Deadlines:
    """Calls on_expiry(token) once each queued token's timeout has passed."""

    def __init__(
        self, on_expiry: Callable[[Token], None], granularity: float = GRANULARITY
    ) -> None:
        self._on_expiry = on_expiry
        self._granularity = granularity
        self._queues: dict[float, deque[tuple[float, Token]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return sum(map(len, self._queues.values()))

    def add(self, loop: asyncio.AbstractEventLoop, timeout: float, token: Token) -> None:
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = deque()
        queue.append((loop.time() + timeout, token))
        if self._timer is None or self._loop is not loop:
            self._loop = loop
            self._timer = loop.call_at(next_tick(loop.time(), self._step()), self._tick)

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        on_expiry = self._on_expiry
        for timeout, queue in list(self._queues.items()):
            while queue and queue[0][0] <= now:
                on_expiry(queue.popleft()[1])
            if not queue:
                del self._queues[timeout]
        if self._queues:
            # On the shared grid: the tick shares its wake-up with the echo stream's.
            self._timer = loop.call_at(next_tick(now, self._step()), self._tick)
        else:
            self._timer = None

    def _step(self) -> float:
        # Short timeouts (tests, a LAN) tick faster, so they fire at most LATE of them late too.
        return min(self._granularity, *(LATE * timeout for timeout in self._queues))

    def close(self) -> None:
        """Forget every deadline (the owner fails its waiters itself) and stop the timer.

        Also what the engine calls when its last outstanding request ends: every queued token
        is then stale, and at a small inventory (a poll every few hundred ms, each done in a
        few ms) the timer would otherwise tick 5 times a second for nothing; the next request
        starts it again."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._queues.clear()
