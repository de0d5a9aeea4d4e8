"""Traceroute scheduling: which failing device to trace, in threads of its own, and the wait.

A trace is asked for at a device's first failed round; it runs in the engine's own thread pool
(a burst of traces must not queue behind the default executor's few workers), and a firing
alert that names the device waits up to traceroute_wait for its path break.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable

from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import Tracer
from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings, Role

log = logging.getLogger("netwatch.alerting")

WORKERS = 16


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
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

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
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=WORKERS, thread_name_prefix="traceroute"
                )
            fut = loop.run_in_executor(self._executor, tracer, dev.address)

            def done(f: asyncio.Future[str | None], name: str = name) -> None:
                try:
                    self.set_path(name, f.result())
                except Exception as exc:
                    log.warning("alerting: traceroute toward %s failed: %s", name, exc)
                    self.set_path(name, None)

            fut.add_done_callback(done)

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

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
