"""Traceroute scheduling: which failing device to trace, when to back off, and the wait.

A trace is asked for when a device starts losing echoes; it runs in the tracer's worker
processes (trace_pool.py), never in the event loop's process, unless the gate (trace_gate.py)
holds it: too many this minute, or the loop overloaded. A firing alert that names the device
waits up to traceroute_wait for its path break; a skipped trace is not waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable

from netwatch.alerting import metrics
from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import Tracer
from netwatch.alerting.trace_gate import TraceGate
from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings, Role

log = logging.getLogger("netwatch.alerting")
LOG_EVERY = 60.0  # seconds between log lines about skipped traces, per reason


class Tracing:
    def __init__(
        self,
        tracer: Tracer | None,
        settings: AlertingSettings,
        tracker: Tracker,
        clock: Callable[[], float],
    ) -> None:
        self.tracer = tracer
        self.settings = settings
        self.tracker = tracker
        self.clock = clock
        self.requested: dict[str, float] = {}  # device → when its trace was asked for
        self.queue: deque[str] = deque()
        self.paths: dict[str, tuple[float, str | None]] = {}  # device → (when, path break)
        self.gate = TraceGate(settings.traceroute_per_minute, settings.traceroute_max_lag)
        self.skipped: Counter[str] = Counter()  # traces not run, by reason
        self._logged: dict[str, float] = {}  # reason → when a skip was last logged

    def traceable(self, name: str, topology: Topology) -> bool:
        """A router, a parent or a district-level device none of whose parents is failing."""
        if self.tracer is None or not self.settings.traceroute:
            return False
        dev = topology.inventory.devices[name]
        if not (dev.role is Role.ROUTER or name in topology.behind or dev.village is None):
            return False
        # Behind a failing parent the parent's own trace says where the path breaks.
        return not any(
            (t := self.tracker.tracks.get(a)) is not None and t.failing
            for a in topology.ancestors.get(name, ())
        )

    def request(self, name: str, topology: Topology) -> None:
        self.requested[name] = self.clock()
        self.paths.pop(name, None)
        self.queue.append(name)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (tests driving the engine by hand): the engine's run() starts it
        self.start(loop, topology)

    def start(self, loop: asyncio.AbstractEventLoop, topology: Topology) -> None:
        """Start the queued traces that are still wanted."""
        tracer = self.tracer
        if tracer is None:
            self.queue.clear()
            return
        if self.gate.probe is None:  # the engine's first tick: ready before a trace is due
            tracer.start()
        self.gate.watch(loop)  # lag is known before a trace too
        while self.queue:
            name = self.queue.popleft()
            dev = topology.inventory.devices.get(name)
            track = self.tracker.tracks.get(name)
            if (
                dev is None
                or track is None
                or not track.failing
                or not self.traceable(name, topology)
            ):
                self.requested.pop(name, None)
                continue  # answered again, or a parent is failing and traced instead
            why = self.gate.hold(loop)
            fut = tracer.submit(dev.address) if why is None else None
            if fut is None:
                self._skip(name, why or "queue_full")
                continue
            self.gate.started()

            def done(f: asyncio.Future[str | None], name: str = name) -> None:
                if f.cancelled():
                    return  # the tracer closed
                exc = f.exception()
                if exc is None:
                    metrics.TRACES.labels("done").inc()
                    self.set_path(name, f.result())
                else:
                    metrics.TRACES.labels("failed").inc()
                    log.warning("alerting: traceroute toward %s failed: %s", name, exc)
                    self.set_path(name, None)

            fut.add_done_callback(done)

    def _skip(self, name: str, why: str) -> None:
        """Not traced now: its alert does not wait for a path break."""
        self.requested.pop(name, None)
        self.skipped[why] += 1
        metrics.TRACES_SKIPPED.labels(why).inc()
        now = self.clock()
        if now - self._logged.get(why, -LOG_EVERY) >= LOG_EVERY:  # once a minute per reason
            self._logged[why] = now
            log.warning("alerting: traceroute toward %s skipped (%s); %d skipped for %s so far",
                        name, why, self.skipped[why], why)  # fmt: skip

    def set_path(self, device: str, last_hop: str | None, at: float | None = None) -> None:
        """Record a traceroute result toward device (last hop that answered)."""
        self.paths[device] = (self.clock() if at is None else at, last_hop)

    def path_for(self, device: str | None, now: float) -> tuple[bool, str | None]:
        """(ready, path break) for an alert about to fire: not ready while worth the wait."""
        if device is None or device not in self.requested:
            return True, None
        got = self.paths.get(device)
        if got is not None:
            return True, got[1]
        return now - self.requested[device] >= self.settings.traceroute_wait, None

    async def aclose(self) -> None:
        self.gate.close()
        if self.tracer is not None:
            await self.tracer.aclose()
