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

After a settle CPython's own rule for full passes ("objects promoted since the last full pass
> 25 % of its survivors") counts only the small unfrozen part, so a full pass came every ~10 s
at 25,000 devices, 90-120 ms each, inside whatever allocation tripped it. So the settle also
turns the automatic full passes off (the third threshold) and the Settler runs one full
collection on the loop every `FULL_EVERY` seconds instead: a cycle let go is freed within that
bound, frozen ones at the next settle as before. Young and middle passes stay CPython's.
Every pass is counted and timed (`netwatch_gc_collections_total` and
`netwatch_gc_collection_seconds_total`, by generation), like Go's go_gc_duration_seconds.

Start-up (branch loopcost): the runtime holds CPython's automatic full passes off from its
start, not from the first settle: they walked the per-device state the first rounds build, 6
times before the settle at 10,000 devices (0.48 s; now 1, while loading), 13 at 25,000 (up to
0.45 s each). And the clock's pass comes every 5 minutes, not every minute: it walks what the
last rounds and scrapes left alive (not frozen: replaced every round), 50-80 ms at 10,000
devices and ~0.3 s at 50,000 each time, and frees 50-90 objects (young and middle passes free
the cycles that die young). Freezing each pass's survivors did not make the next one much
cheaper (79 -> 68 ms at 10,000 devices) and needs a whole settle now and then: not kept.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator

from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

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


FULL_EVERY = 300.0
"""Seconds between the Settler's full collections once the heap is settled (the bound on how
long an unfrozen cycle let go outlives its last reference, once it has outlived the young and
middle passes)."""
NO_AUTOMATIC_FULL = 1 << 30
"""Third threshold the Settler sets: middle passes before CPython would start a full one."""


class GcPasses(Collector):
    """Counts and times every pass of the cyclic collector, by generation (gc.callbacks).

    The callback runs inside the collection, so it only adds to plain lists (no lock: a
    Prometheus value's lock may be held by this thread when the allocation trips the pass);
    a scrape reads the lists."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = info["generation"]
        self.seconds[gen] += time.perf_counter() - self._started
        self.count[gen] += 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        count = CounterMetricFamily(
            "netwatch_gc_collections",
            "Passes of the cyclic garbage collector, by generation (2 = full).",
            labels=["generation"],
        )
        seconds = CounterMetricFamily(
            "netwatch_gc_collection_seconds",
            "Time the cyclic garbage collector's passes held the process, by generation.",
            labels=["generation"],
        )
        for gen in range(3):
            count.add_metric([str(gen)], self.count[gen])
            seconds.add_metric([str(gen)], self.seconds[gen])
        yield count
        yield seconds


PASSES = GcPasses()
gc.callbacks.append(PASSES)
REGISTRY.register(PASSES)


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
    """Settles the heap once, a delay after the last request (coalesced); from hold() or the
    first request on, CPython starts no full pass of its own; from the first settle on, a full
    collection runs every `full_every` seconds until cancelled."""

    def __init__(self, full_every: float = FULL_EVERY) -> None:
        self._timer: asyncio.TimerHandle | None = None
        self._full: asyncio.TimerHandle | None = None
        self._full_every = full_every
        self._threshold: tuple[int, int, int] | None = None  # CPython's, while ours is set

    def request(self, delay: float) -> None:
        """Settle `delay` seconds from now (one poll interval: per-device state is built by
        each device's first round); an earlier request not yet due is replaced. The full
        passes CPython would start meanwhile would walk what the settle is about to freeze:
        they are off from now on."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._due)
        self.hold()

    def cancel(self) -> None:
        """Stops the settle not yet due and the clock's full passes; CPython's own rule for
        full passes comes back."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._full is not None:
            self._full.cancel()
            self._full = None
        if self._threshold is not None:
            gc.set_threshold(*self._threshold)
            self._threshold = None

    def hold(self) -> None:
        """No full pass of CPython's own from now on (start-up: a settle will be asked for);
        cancel() gives them back."""
        if self._threshold is None:  # CPython's thresholds, kept for cancel()
            self._threshold = gc.get_threshold()
            young, middle, _ = self._threshold
            gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)

    def _due(self) -> None:
        self._timer = None
        self.hold()
        settle()
        self._schedule_full()

    def _schedule_full(self) -> None:
        if self._full is not None:
            self._full.cancel()
        self._full = asyncio.get_running_loop().call_later(self._full_every, self._collect)

    def _collect(self) -> None:
        self._full = None
        gc.collect()  # walks only what is not frozen
        self._schedule_full()
