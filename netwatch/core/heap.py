"""Keep the garbage collector off the long-lived heap (the inventory and per-device state).

At 50,000 devices the process tracks a few million container objects that live as long as
the inventory. CPython's cyclic collector re-walks all of them at every full collection: one
costs ~0.2 s there and lands inside whatever allocation trips it (a poll, an echo round, an
alert tick), so the profile of the 50k run showed allocation lines in the SNMP walk as its top
cost, and the alert engine's first mass-outage evaluation held the loop 174 ms for one
collection (docs/performance.md, branches massout and snmprecv). `gc.freeze()` moves what is
alive into a permanent generation the collector no longer walks; refcounting still frees
those objects when they go. Settling runs a full collection first, so cyclic garbage is freed
rather than frozen, and it unfreezes before a reload's collection, so the old inventory's
cycles are not kept forever. One settle costs one full collection on the loop (~0.2 s at 50k),
once after start-up and once after each reload that changed the inventory.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from prometheus_client import Counter, Gauge

from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)

FROZEN = Gauge(
    "netwatch_gc_frozen_objects",
    "Objects moved out of the garbage collector's reach at the last settle (start-up, reload).",
    registry=REGISTRY,
)
SETTLES = Counter(
    "netwatch_gc_settles_total",
    "Full collections followed by gc.freeze() (one after start-up, one after each reload).",
    registry=REGISTRY,
)
SETTLE_SECONDS = Gauge(
    "netwatch_gc_settle_seconds",
    "How long the last settle (one full collection and the freeze) held the event loop.",
    registry=REGISTRY,
)


def settle() -> int:
    """Collect everything once, then freeze what is left alive; returns the frozen count."""
    started = time.perf_counter()
    gc.unfreeze()  # the previous inventory's frozen cycles become collectable again
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    held = time.perf_counter() - started
    FROZEN.set(frozen)
    SETTLES.inc()
    SETTLE_SECONDS.set(held)
    log.debug("gc settle: %d objects frozen in %.0f ms", frozen, held * 1e3)
    return frozen


class Settler:
    """Settles the heap once, a delay after the last request (coalesced)."""

    def __init__(self) -> None:
        self._timer: asyncio.TimerHandle | None = None

    def request(self, delay: float) -> None:
        """Settle `delay` seconds from now (one poll interval: per-device state is built by
        each device's first round); an earlier request not yet due is replaced."""
        self.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._due)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        self._timer = None
        settle()
