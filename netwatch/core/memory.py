"""Give the C allocator's free memory back to the system after big transient events.

glibc's malloc keeps what Python frees in its heaps (the high-water mark), so a reload (two
10,000-device inventories for a moment, the loader's pickle) or a scrape storm (rendered
bodies) leaves RSS up although the objects are gone. The soak of 3 Dec (docs/performance.md)
measured it: no Python objects accumulated, yet RSS stepped ~15 MiB over the first storms.
`malloc_trim(0)` returns the free pages; it runs in a worker thread (ctypes releases the GIL),
at most once per `min_interval`, never while a scrape is being served. Only with glibc; on
another C library this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
import weakref
from collections.abc import Callable
from typing import Protocol

from prometheus_client import Counter

from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)


TRIMS = Counter(
    "netwatch_memory_trims_total",
    "malloc_trim(0) calls giving the allocator's free memory back after a reload or a scrape "
    "(glibc only; at most one a minute).",
    registry=REGISTRY,
)


class Serving(Protocol):
    """What holds big buffers while it works (the /metrics endpoint): its responses."""

    active: int


MIN_INTERVAL = 60.0  # seconds between two trims (a trim of a 200 MiB heap: a few ms)


def glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim from the running process, or None on another C library."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        fn = ctypes.CDLL(None).malloc_trim
    except (ValueError, OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


class Trimmer:
    """Coalesces requests into at most one malloc_trim(0) per min_interval, off the loop."""

    def __init__(
        self,
        trim: Callable[[int], int] | None = None,
        min_interval: float = MIN_INTERVAL,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self.min_interval = min_interval
        self.delay = delay  # after the request: the event's last references go first
        self._clock = clock
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._busy: weakref.WeakSet[Serving] = weakref.WeakSet()  # held by their servers
        self.trims = 0  # trims done (tests, debugging)

    def busy_while(self, part: Serving) -> None:
        """Do not trim while part.active (a scrape body is being written)."""
        self._busy.add(part)

    def request(self) -> None:
        """A big transient event has ended: trim soon (rate-limited, coalesced)."""
        if self._trim is None or self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        wait = max(self.delay, self._last + self.min_interval - self._clock())
        self._timer = loop.call_later(wait, self._due)

    def _due(self) -> None:
        self._timer = None
        if any(part.active > 0 for part in list(self._busy)):
            self.request()  # again after the delay: the scrape will be over
            return
        self._last = self._clock()
        self.trims += 1
        TRIMS.inc()
        task = asyncio.get_running_loop().run_in_executor(None, self._run)
        task.add_done_callback(lambda f: f.exception())  # logged in _run; nothing to raise

    def _run(self) -> None:
        assert self._trim is not None
        started = time.perf_counter()
        try:
            self._trim(0)
        except Exception:  # never fatal: memory is only kept longer
            log.exception("malloc_trim failed")
            return
        log.debug("malloc_trim(0) took %.1f ms", (time.perf_counter() - started) * 1e3)


TRIMMER = Trimmer()  # the process's one (runtime reloads and /metrics request through it)
